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

describe('env.grpcTarget', () => {
  const schema = z.object({ PEER_GRPC_URL: env.grpcTarget('127.0.0.1:50051') });

  it.each([
    '127.0.0.1:50051',
    'payments:50051',
    'payments.shop.svc.cluster.local:50051',
    '[::1]:50051',
    'dns:///payments-headless.shop.svc.cluster.local:50051',
    'dns:payments:50051',
    'ipv4:127.0.0.1:5201',
    'ipv4:127.0.0.1:5201,127.0.0.1:5202',
    'ipv6:[::1]:5201,[fd00::2]:5202',
    'unix:/run/payments/grpc.sock',
    'unix:///run/payments/grpc.sock',
  ])('accepts %s as it is', (target) => {
    expect(loadConfig(schema, { PEER_GRPC_URL: target })).toEqual({ PEER_GRPC_URL: target });
  });

  it('defaults when unset or empty', () => {
    expect(loadConfig(schema, { PEER_GRPC_URL: '' }).PEER_GRPC_URL).toBe('127.0.0.1:50051');
  });

  it.each([
    'payments',
    'payments:0',
    'payments:70000',
    'http://payments:50051',
    'dns:///payments',
    'ipv4:127.0.0.1',
    'ipv4:127.0.0.1:5201,',
    'ipv4:127.0.0.1:5201,payments:5202',
    'ipv4:[::1]:5201',
    'ipv6:::1:5201',
    'unix:',
    'pay ments:50051',
  ])('refuses %s, naming the variable and the accepted forms', (target) => {
    expect(problemsOf(schema, { PEER_GRPC_URL: target })).toEqual([
      'PEER_GRPC_URL: must be a gRPC target: host:port, dns:///host:port, ' +
        'ipv4:address:port[,address:port...], ipv6:[address]:port[,[address]:port...] or ' +
        'unix:/path/to/socket',
    ]);
  });
});
