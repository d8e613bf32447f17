import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';

/**
 * A TLS alert record: fatal (2) internal_error (80). Sent to a client held past the limit,
 * so it sees a clean "alert internal error" instead of a reset or an empty certificate.
 */
const INTERNAL_ERROR_ALERT = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50]);

/** Held connections per endpoint; beyond this a new one gets the alert at once (each holds a descriptor). */
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
  private readonly held = new Set<Held>();
  private heldTotal = 0;

  constructor(
    private readonly release: (socket: Socket) => void,
    private readonly isUsable: (now: number) => boolean,
    private readonly holdMs: number,
    private readonly log: Logger,
  ) {}

  admit(socket: Socket): void {
    if (this.isUsable(Date.now())) this.release(socket);
    else this.hold(socket);
  }

  /** Called once TLS serves a new certificate: releases everything held, if it is usable. */
  reopen(): void {
    if (this.held.size === 0 || !this.isUsable(Date.now())) return;
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

  /**
   * Sends the alert and closes. The socket is paused (its bytes are never read), so it would
   * never see the client's FIN and would sit in CLOSE-WAIT for good: it is destroyed once the
   * alert is flushed.
   */
  private refuse(socket: Socket, why: string): void {
    this.log.warn(`${why}: sent TLS alert internal_error to ${socket.remoteAddress}:${socket.remotePort}`);
    socket.end(INTERNAL_ERROR_ALERT, () => socket.destroy());
  }
}
