import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ConfigError, env, loadConfig } from './config.js';

const SECRET = 'sk_live_do-not-print-me-0123456789';

function problemsOf(schema: z.ZodType, environment: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(schema, environment);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe(loadConfig.name, () => {
  it("names the variable without the value in zod's own messages", () => {
    const schema = z.object({
      MODE: z.enum(['a', 'b']),
      COUNT: z.coerce.number().int(),
      REQUIRED: z.string(),
      PREFIXED: z.string().startsWith('whsec_'),
    });
    const problems = problemsOf(schema, { MODE: SECRET, COUNT: SECRET, PREFIXED: SECRET });
    expect(problems).toEqual([
      'MODE: must be one of: a, b',
      'COUNT: must be of type number',
      'REQUIRED: is required',
      'PREFIXED: must start with whsec_',
    ]);
    expect(problems.join('\n')).not.toContain(SECRET);
  });

  it('hides the value when a message of ours quotes it', () => {
    const schema = z.object({
      API_KEY: z.string().refine((key) => key.startsWith('rk_'), {
        error: (issue) => `unexpected key ${String(issue.input)}`,
      }),
    });
    const [problem] = problemsOf(schema, { API_KEY: SECRET });
    expect(problem).toBe('API_KEY: unexpected key [value hidden]');
  });

  it('keeps the messages of the shared variable shapes', () => {
    const schema = z.object({ PORT: env.port(3000) });
    expect(problemsOf(schema, { PORT: SECRET })).toEqual(['PORT: must be a port number']);
  });
});
