import { X509Certificate } from 'node:crypto';
import { connect, type ConnectionOptions } from 'node:tls';

export interface ProbeResult {
  readonly status: number;
  readonly body: string;
  readonly cert: X509Certificate;
  /** When TCP connected and when the TLS handshake completed (ms since the epoch). */
  readonly tcpConnectedAt: number;
  readonly secureAt: number;
  readonly alpn: string | false | null;
}

export interface ProbeOptions {
  readonly port: number;
  readonly host?: string;
  /** SNI to send; omit to send none (as clients do for https://127.0.0.1/). */
  readonly servername?: string;
  /** Trust anchor; without it the chain is not verified (the test checks it itself). */
  readonly ca?: string;
  readonly path?: string;
  /** Keep trying while the port refuses connections (the listener is not up yet). */
  readonly retryRefusedUntil?: number;
  /** The client's own address (another loopback address, to stand apart from an attacker's). */
  readonly localAddress?: string;
  /** The Host header, when it should differ from the SNI. */
  readonly hostHeader?: string;
}

/** One TLS connection carrying one `GET` over HTTP/1.1, as a minimal real client does it. */
export async function probe(options: ProbeOptions): Promise<ProbeResult> {
  for (;;) {
    try {
      return await probeOnce(options);
    } catch (error) {
      const refused = (error as { code?: string }).code === 'ECONNREFUSED';
      if (!refused || options.retryRefusedUntil === undefined || Date.now() > options.retryRefusedUntil) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

function probeOnce(options: ProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const tlsOptions: ConnectionOptions = {
      host: options.host ?? '127.0.0.1',
      port: options.port,
      // Passed through to net.connect, which the TLS typings do not show.
      ...(options.localAddress ? ({ localAddress: options.localAddress } as object) : {}),
      servername: options.servername ?? '',
      ca: options.ca,
      // With a CA the chain and the name (the SNI, else the IP address) are verified for real.
      rejectUnauthorized: options.ca !== undefined,
    };
    let tcpConnectedAt = 0;
    let secureAt = 0;
    let response = '';
    let peer: X509Certificate | undefined;
    const socket = connect(tlsOptions, () => {
      secureAt = Date.now();
      peer = socket.getPeerX509Certificate();
      socket.write(`GET ${options.path ?? '/'} HTTP/1.1\r\nHost: ${options.hostHeader ?? (options.servername || 'localhost')}\r\nConnection: close\r\n\r\n`);
    });
    socket.once('connect', () => {
      tcpConnectedAt = Date.now();
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      response += chunk;
    });
    socket.once('error', reject);
    socket.once('end', () => {
      if (!peer) return reject(new Error('no peer certificate'));
      const [head = '', body = ''] = splitOnce(response, '\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, body, cert: peer, tcpConnectedAt, secureAt, alpn: socket.alpnProtocol });
    });
  });
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, ''] : [text.slice(0, at), text.slice(at + separator.length)];
}
