import type { Duplex } from 'node:stream';

/**
 * How long a connection Portico has finished with stays open after its last bytes and its FIN
 * went to the kernel: time for the peer to read what it was sent and close its side, so that
 * the answer is not lost to a reset (a socket closed with unread input sends RST, and the peer
 * may drop the 408 it had not read yet). nginx's `lingering_timeout` is 5 s too. A peer that
 * reads takes milliseconds; one that never reads or never sends its FIN has its connection
 * destroyed then, so a finished connection holds its descriptor for at most this long whatever
 * the peer does. Short next to the header timeout (20 s): with the per-address cap no longer
 * counting finished connections, a client cycling connections holds at most this much longer
 * each, and the worker's connection cap (from the descriptor limit) still counts them.
 */
export const LINGER_MS = 5_000;

const lingering = new WeakSet<Duplex>();

/**
 * Once Portico has ended `socket` (its writable side has finished: the response and the FIN are
 * with the kernel), destroys it LINGER_MS later unless it closed by then. `applies` is asked at
 * that moment: a socket another owner has taken over (a tunnel) keeps its own lifetime.
 */
export function lingerAfterEnd(socket: Duplex, applies: () => boolean = () => true): void {
  socket.once('finish', () => {
    if (applies()) destroyLater(socket);
  });
}

/**
 * Ends a connection Portico gives up on (a 408, a refusal): writes `last` and the FIN, and
 * destroys it LINGER_MS from now at the latest, even if the peer never reads `last`.
 */
export function endConnection(socket: Duplex, last?: string | Buffer): void {
  if (socket.destroyed) return;
  destroyLater(socket);
  if (last === undefined) socket.end();
  else socket.end(last);
}

function destroyLater(socket: Duplex): void {
  if (socket.destroyed || lingering.has(socket)) return;
  lingering.add(socket);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  // A worker draining to exit does not wait for a peer that never closes.
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}
