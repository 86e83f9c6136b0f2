import { describe, expect, it } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { afterFailure } from './outbox-retry.js';

const policy = { maxAttempts: 3, maxBackoffMs: 60_000 };
const failure = (code: status, details = 'orders said so') => ({ code, details, message: details });

describe(afterFailure.name, () => {
  it.each([status.NOT_FOUND, status.INVALID_ARGUMENT, status.FAILED_PRECONDITION, status.INTERNAL])(
    'parks a notification on its third permanent refusal (gRPC %i), not before',
    (code) => {
      const verdicts = [0, 1, 2].map((refusals) =>
        afterFailure(failure(code), { attempts: refusals, refusals }, policy),
      );
      expect(verdicts.map((v) => [v.refused, v.park])).toEqual([
        [true, false],
        [true, false],
        [true, true],
      ]);
    },
  );

  it.each([
    status.UNAVAILABLE,
    status.DEADLINE_EXCEEDED,
    status.RESOURCE_EXHAUSTED,
    status.ABORTED,
    status.CANCELLED,
  ])('retries a transient failure (gRPC %i) forever, counting no refusal', (code) => {
    const verdict = afterFailure(failure(code), { attempts: 1_000, refusals: 2 }, policy);
    expect(verdict).toMatchObject({ refused: false, park: false, retryInMs: 60_000 });
  });

  it('retries a failure that carries no gRPC status (it never reached orders)', () => {
    const verdict = afterFailure(new Error('socket hang up'), { attempts: 9, refusals: 2 }, policy);
    expect(verdict).toMatchObject({ refused: false, park: false, error: 'socket hang up' });
  });

  it('does not let an outage of orders use up the refusals: only refusals count', () => {
    // Many transient failures before the first refusal: it is a first refusal, not a last one.
    const verdict = afterFailure(failure(status.NOT_FOUND), { attempts: 50, refusals: 0 }, policy);
    expect(verdict.park).toBe(false);
  });

  it('parks at the first refusal when OUTBOX_MAX_ATTEMPTS is 1', () => {
    const verdict = afterFailure(
      failure(status.NOT_FOUND),
      { attempts: 0, refusals: 0 },
      { ...policy, maxAttempts: 1 },
    );
    expect(verdict.park).toBe(true);
  });

  it('keeps the status code, its name and the message as the reason', () => {
    const verdict = afterFailure(
      failure(status.NOT_FOUND, 'Order 1 does not exist.'),
      { attempts: 0, refusals: 0 },
      policy,
    );
    expect(verdict.error).toBe('gRPC 5 NOT_FOUND: Order 1 does not exist.');
  });

  it('backs off exponentially from 1 s up to the cap', () => {
    const delays = [0, 1, 2, 3, 10].map(
      (attempts) =>
        afterFailure(
          failure(status.UNAVAILABLE),
          { attempts, refusals: 0 },
          {
            ...policy,
            maxBackoffMs: 5_000,
          },
        ).retryInMs,
    );
    expect(delays).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
  });
});
