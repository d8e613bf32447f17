import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { TlsBundle } from '../tls/bundle.js';
import { isWithinValidity } from '../tls/renewal.js';

/**
 * A TLS alert record: fatal (2) internal_error (80). Sent to a client held past the limit,
 * so it sees a clean "alert internal error" instead of a reset or an empty certificate.
 */
const INTERNAL_ERROR_ALERT = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50]);

/** Held connections per worker; beyond this a new one gets the alert at once (each holds a descriptor). */
const MAX_HELD = 1024;

interface Held {
  readonly socket: Socket;
  readonly timer: NodeJS.Timeout;
}

/**
 * Stands between accepted TCP connections and TLS. A connection is handed to TLS only while a
 * usable certificate is published; before that (or once it has expired) the connection is held
 * unread, its ClientHello waiting in the socket, for at most holdMs. Because the decision is
 * made before any TLS byte is read, it is the same with SNI and without it: there is no moment
 * in which a handshake can meet an empty or half-built context (KB Q184288).
 */
export class HandshakeGate {
  private bundle: TlsBundle | undefined;
  private readonly held = new Set<Held>();
  private reportedExpired: string | undefined;
  private heldTotal = 0;

  constructor(
    private readonly release: (socket: Socket) => void,
    private readonly holdMs: number,
    private readonly log: Logger,
    private readonly onExpired: (bundle: TlsBundle) => void,
  ) {}

  admit(socket: Socket): void {
    if (this.isUsable(Date.now())) {
      this.release(socket);
      return;
    }
    this.hold(socket);
  }

  /** Called after the TLS server already serves `bundle`: releases everything held. */
  publish(bundle: TlsBundle): void {
    this.bundle = bundle;
    if (!this.isUsable(Date.now()) || this.held.size === 0) return;
    const waiting = [...this.held];
    this.held.clear();
    this.log.info(`released ${waiting.length} held handshake(s) (${this.heldTotal} held since start)`);
    for (const { socket, timer } of waiting) {
      clearTimeout(timer);
      if (!socket.destroyed) this.release(socket);
    }
  }

  close(): void {
    for (const { socket, timer } of this.held) {
      clearTimeout(timer);
      socket.destroy();
    }
    this.held.clear();
  }

  private isUsable(now: number): boolean {
    const bundle = this.bundle;
    if (bundle === undefined) return false;
    if (isWithinValidity(bundle, now)) return true;
    if (this.reportedExpired !== bundle.fingerprint256) {
      this.reportedExpired = bundle.fingerprint256;
      this.log.warn(`the certificate ${bundle.serialNumber} expired at ${new Date(bundle.notAfter).toISOString()}; holding handshakes until it is renewed`);
      this.onExpired(bundle);
    }
    return false;
  }

  private hold(socket: Socket): void {
    socket.on('error', () => undefined);
    if (this.held.size >= MAX_HELD) {
      this.refuse(socket, `${MAX_HELD} handshakes are already waiting for a certificate`);
      return;
    }
    this.heldTotal += 1;
    const entry: Held = {
      socket,
      timer: setTimeout(() => {
        this.held.delete(entry);
        this.refuse(socket, `no certificate within ${this.holdMs} ms`);
      }, this.holdMs),
    };
    this.held.add(entry);
    socket.once('close', () => {
      clearTimeout(entry.timer);
      this.held.delete(entry);
    });
  }

  private refuse(socket: Socket, why: string): void {
    this.log.warn(`${why}: sent TLS alert internal_error to ${socket.remoteAddress}:${socket.remotePort}`);
    socket.end(INTERNAL_ERROR_ALERT);
  }
}
