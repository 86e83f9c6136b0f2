import { createServer } from 'node:net';

// Below Linux's ephemeral range (32768-60999): a port picked there can be taken by any outgoing
// connection between the check and the service binding it, which made tests flaky under load.
const FIRST = 20_000;
const LAST = 32_767;
const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on right now, and not handed out before here. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = FIRST + Math.floor(Math.random() * (LAST - FIRST + 1));
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`No free port found between ${FIRST} and ${LAST}`);
}

/** The first of `count` consecutive ports that are all free (for a fleet's instances). */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const first = FIRST + Math.floor(Math.random() * (LAST - FIRST + 1 - count));
    const ports = Array.from({ length: count }, (_, i) => first + i);
    if (ports.some((port) => handedOut.has(port))) continue;
    if (!(await Promise.all(ports.map(canListen))).every(Boolean)) continue;
    for (const port of ports) handedOut.add(port);
    return first;
  }
  throw new Error(`No ${count} consecutive free ports found between ${FIRST} and ${LAST}`);
}
