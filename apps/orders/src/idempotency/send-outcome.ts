import type { FastifyReply } from 'fastify';
import type { Outcome } from './idempotency.service.js';

/** Sends a keyed request's response exactly as stored; replays say so. */
export function sendOutcome(reply: FastifyReply, { response, replayed }: Outcome): void {
  void reply.status(response.status).headers(response.headers);
  if (replayed) void reply.header('idempotent-replayed', 'true');
  void reply.send(response.body);
}
