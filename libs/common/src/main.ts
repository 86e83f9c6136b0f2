import { ConfigError } from './config.js';

/**
 * Entry point of a service: a configuration problem ends the process with a message naming the
 * variables (and EX_CONFIG), anything else with its stack.
 */
export async function runService<C>(
  name: string,
  loadConfig: () => C,
  start: (config: C) => Promise<unknown>,
): Promise<void> {
  let config: C;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${name}: ${error.message}`);
    process.exit(78);
  }
  await start(config);
}
