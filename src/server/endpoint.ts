import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { Binding, Limits } from '../config/plan.js';
import { describeError } from '../errors.js';
import { errorPage } from '../http/error-page.js';
import type { Exchange } from '../http/exchange.js';
import type { ExchangeObserver } from '../http/exchange-observer.js';
import type { Pipeline } from '../http/pipeline.js';
import type { Response } from '../http/response.js';
import type { Logger } from '../log/logger.js';
import { loggedTarget } from '../log/logged-target.js';
import { OnceAMinute } from '../log/once-a-minute.js';
import { ACME_TLS, type CertificateTable } from './certificate-table.js';
import { peekServerName, UNRECOGNIZED_NAME_ALERT } from './client-hello.js';
import { deliver } from './deliver.js';
import type { Dispatch } from './dispatch.js';
import { connectionLimit } from './descriptor-limit.js';
import { HandshakeGate } from './handshake-gate.js';
import { listenError } from './listen-error.js';
import { endConnection } from './linger.js';
import { Http1Transport } from './http1-transport.js';
import { Http2Transport } from './http2-transport.js';
import type { ReusePortListenOptions } from './reuse-port.js';

/** Which site's pipeline answers an exchange (src/sites/site-router.ts). */
export interface SiteSelector {
  select(exchange: Exchange): Pipeline;
}

/** Counts exchanges in flight, so a worker can drain before it exits. */
export interface Tracker {
  begin(): void;
  end(): void;
}

/**
 * One binding: a listening socket and everything between it and a site's pipeline. Plain
 * bindings hand connections to HTTP/1.1. TLS bindings hold each connection in the handshake gate
 * until a certificate is published, then TLS picks the certificate by SNI from the worker's
 * CertificateTable, and ALPN picks HTTP/2 or HTTP/1.1. Every request, on every transport, goes
 * through `dispatch`: one path from exchange to response.
 */
export class Endpoint {
  private readonly listener: NetServer;
  private readonly http1: Http1Transport;
  private readonly http2: Http2Transport | undefined;
  private readonly gate: HandshakeGate | undefined;
  private readonly perAddress = new Map<string, number>();
  /** TLS connections' per-address slots, by the peer's address and port, until TLS hands the socket over. */
  private readonly slots = new Map<string, () => void>();
  /** One WARN line per cause per minute, however many connections a flood refuses. */
  private readonly warnings: OnceAMinute;

  constructor(
    readonly binding: Binding,
    private readonly limits: Limits,
    private readonly sites: SiteSelector,
    private readonly tracker: Tracker,
    /** The worker's: every exchange's end is reported to it, once. */
    private readonly observer: ExchangeObserver,
    private readonly log: Logger,
    certificates: CertificateTable | undefined,
  ) {
    this.warnings = new OnceAMinute(log);
    const policy = { streamsBody: (exchange: Exchange) => this.sites.select(exchange).streamsBody(exchange) };
    this.http1 = new Http1Transport(limits, this.dispatch, log, policy);
    if (!binding.tls) {
      // allowHalfOpen: a request followed at once by the client's FIN is still answered.
      this.listener = this.limitConnections(createNetServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.admit(socket, () => this.http1.accept(socket))));
      return;
    }
    if (!certificates) throw new Error(`binding ${binding.name} needs a certificate table`);
    const http2 = new Http2Transport(limits, this.dispatch, log, policy);
    const tls = createTlsServer({
      ALPNCallback: ({ servername, protocols }) => certificates.selectProtocol(servername, protocols),
      ...certificates.tlsOptions,
      handshakeTimeout: limits.headerTimeoutMs,
      SNICallback: (servername, callback) => certificates.resolve(servername, callback),
    });
    tls.on('secureConnection', (socket: TLSSocket) => {
      // Its slot is given back once Portico has ended the connection, not when the peer closes.
      const release = this.slots.get(slotKey(socket));
      if (release) socket.once('finish', release);
      // A CA validating tls-alpn-01 only needed the handshake.
      if (socket.alpnProtocol === ACME_TLS) return endConnection(socket);
      if (socket.alpnProtocol === 'h2') return http2.accept(socket);
      // HTTP/1.1 answers a request followed at once by the client's FIN, as in the clear.
      socket.allowHalfOpen = true;
      this.http1.accept(socket);
    });
    // A handshake that fails or times out is over: its socket is destroyed, never answered in HTTP.
    tls.on('tlsClientError', (error, socket) => {
      log.debug(`TLS handshake failed: ${describeError(error)}`);
      socket.destroy();
    });
    const gate = new HandshakeGate((socket) => tls.emit('connection', socket), (now) => certificates.isUsable(now), limits.handshakeHoldMs, log);
    const install = (): void => {
      const options = certificates.defaultOptions();
      if (options === undefined) return;
      tls.setSecureContext(options);
      gate.reopen();
    };
    certificates.onChange(install);
    install();
    // pauseOnConnect: a held connection's ClientHello stays unread until TLS takes the socket.
    // Not half-open (TLS takes the setting from this socket): a client that drops the connection
    // during the handshake (its FIN before its Finished) ends it at once, instead of leaving it
    // in CLOSE-WAIT until the handshake timeout; HTTP/1.1 turns half-open on after the handshake.
    const handshake = (socket: Socket): void => (certificates.obtainsOnDemand() ? this.nameFirst(socket, certificates, gate) : gate.admit(socket));
    this.listener = this.limitConnections(createNetServer({ pauseOnConnect: true, allowHalfOpen: false, noDelay: true }, (socket: Socket) => this.admit(socket, () => handshake(socket))));
    this.http2 = http2;
    this.gate = gate;
  }

  /** The port bound, once open. */
  port: number | undefined;

  /**
   * Listens, and resolves with the port bound (the system's choice when the plan says 0). With
   * `reusePort`, on a socket of this process's own that shares the port with the other workers'
   * (SO_REUSEPORT; `exclusive` keeps the cluster module from sharing the primary's instead).
   */
  open(reusePort = false): Promise<number> {
    const { name, port, address } = this.binding;
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(listenError(this.binding, error));
      this.listener.once('error', onError);
      // A deep accept queue (the kernel caps it at net.core.somaxconn): in an accept storm a
      // client's SYN waits in the queue instead of being dropped and retried a second later.
      const options: ReusePortListenOptions = reusePort ? { port, host: address, backlog: ACCEPT_BACKLOG, reusePort: true, exclusive: true } : { port, host: address, backlog: ACCEPT_BACKLOG };
      this.listener.listen(options, () => {
        this.listener.off('error', onError);
        this.listener.on('error', (error) => this.log.error(`${name} listener: ${describeError(error)}`));
        this.port = (this.listener.address() as { port: number }).port;
        resolve(this.port);
      });
    });
  }

  /** Stops accepting, closes idle connections, and asks HTTP/2 clients to go away after their streams. */
  stop(): void {
    this.listener.close();
    this.gate?.close();
    this.http1.stop();
    this.http2?.stop();
  }

  /** Per worker: a cap on open connections, from the descriptor limit unless the plan sets one. */
  private limitConnections(server: NetServer): NetServer {
    server.maxConnections = this.limits.maxConnections > 0 ? this.limits.maxConnections : connectionLimit();
    server.on('drop', (data) => this.warnings.warn('worker', `refused connections from ${data?.remoteAddress ?? 'clients'}: this worker holds ${server.maxConnections} already`));
    return server;
  }

  /**
   * On-demand TLS: the ClientHello's name is read before the handshake starts. A name that needs
   * a certificate waits for it here, like a held handshake; a name that is refused gets a fatal
   * unrecognized_name alert (RFC 6066) and nothing else. Every other name goes on untouched.
   */
  private nameFirst(socket: Socket, certificates: CertificateTable, gate: HandshakeGate): void {
    peekServerName(socket, this.limits.headerTimeoutMs).then(
      (name) => {
        const waiting = name === undefined ? undefined : certificates.onDemandFor(name);
        if (waiting === undefined) return gate.admit(socket);
        waiting.then(
          () => gate.admit(socket),
          (error: unknown) => {
            this.log.debug(`refused a handshake for ${name}: ${describeError(error)}`);
            if (!socket.destroyed) socket.end(UNRECOGNIZED_NAME_ALERT, () => socket.destroy());
          },
        );
      },
      () => socket.destroy(),
    );
  }

  /**
   * Per client address: beyond the cap a new connection is closed at once, before any byte is
   * read. The cap counts live connections only: a connection's slot is given back when it
   * closes, or as soon as Portico has ended it (its FIN sent: a 408, a refusal, `connection:
   * close`), while it lingers for a peer that may never read or close.
   */
  private admit(socket: Socket, accept: () => void): void {
    const address = socket.remoteAddress ?? '';
    const open = (this.perAddress.get(address) ?? 0) + 1;
    if (open > this.limits.maxConnectionsPerAddress) {
      this.warnings.warn(address, `refused connections from ${address}: it holds ${this.limits.maxConnectionsPerAddress} already (per-address limit)`);
      socket.destroy();
      return;
    }
    this.perAddress.set(address, open);
    const key = slotKey(socket);
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      if (this.slots.get(key) === release) this.slots.delete(key);
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left === 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    };
    // Over TLS the raw socket only reports its close: the TLS socket's end is found by `key`.
    if (this.binding.tls) this.slots.set(key, release);
    else socket.once('finish', release);
    socket.once('close', release);
    accept();
  }



  private readonly dispatch: Dispatch = (exchange, out, writer, answer) => {
    this.tracker.begin();
    const pipeline = this.sites.select(exchange);
    const startedAt = this.observer.timed(pipeline.label) ? Date.now() : 0;
    const refusal = answer ?? (exchange.target.length > this.limits.maxRequestTargetBytes ? errorPage(414, exchange.method === 'HEAD') : undefined);
    const outcome = refusal ? pipeline.refuse(exchange, refusal) : pipeline.handle(exchange);
    const send = (response: Response): void =>
      deliver(
        out,
        response,
        writer,
        (delivered) => {
          this.tracker.end();
          writer.ended?.(out, delivered.complete);
          this.observer.finished(pipeline.label, exchange, delivered, startedAt);
        },
        (error) => this.log.error(`${exchange.method} ${loggedTarget(exchange.target)}: the ${response.status} response could not be written (${describeError(error)}); answered 500 instead`),
      );
    if (outcome instanceof Promise) void outcome.then(send);
    else send(outcome);
  };
}

const ACCEPT_BACKLOG = 4096;

/** A TCP connection's peer address and port: the same for the raw socket and the TLS socket over it. */
function slotKey(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`;
}
