import type { Socket } from 'node:net';

/** TLS alert record: fatal (2) unrecognized_name (112), RFC 6066 §3; version 3.3 as TLS 1.2 and 1.3 records carry. */
export const UNRECOGNIZED_NAME_ALERT = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70]);

/** More than one record of a ClientHello is not read: its SNI, if any, is in the first (16 KiB). */
const MAX_RECORD = 5 + 16_384;

/**
 * The server name (SNI) of a TLS ClientHello, read from the start of a connection: the name,
 * `undefined` when there is none (no SNI, or not a ClientHello), or 'incomplete' when more bytes
 * are needed. Bounds-checked at every step: a malformed hello is "none", never an exception.
 */
export function serverNameOf(data: Buffer): string | undefined | 'incomplete' {
  if (data.length < 5) return 'incomplete';
  if (data[0] !== 0x16) return undefined;
  const recordLength = data.readUInt16BE(3);
  if (data.length < 5 + recordLength) return data.length >= MAX_RECORD ? undefined : 'incomplete';
  const hello = data.subarray(5, 5 + recordLength);
  // Handshake header: type 1 (ClientHello), 3-byte length; then version (2) and random (32).
  if (hello[0] !== 0x01) return undefined;
  let at = 4 + 2 + 32;
  const skip = (lengthBytes: 1 | 2): boolean => {
    if (at + lengthBytes > hello.length) return false;
    at += lengthBytes + (lengthBytes === 1 ? hello[at]! : hello.readUInt16BE(at));
    return at <= hello.length;
  };
  // Session id, cipher suites, compression methods.
  if (!skip(1) || !skip(2) || !skip(1) || at + 2 > hello.length) return undefined;
  const end = Math.min(hello.length, at + 2 + hello.readUInt16BE(at));
  at += 2;
  while (at + 4 <= end) {
    const type = hello.readUInt16BE(at);
    const length = hello.readUInt16BE(at + 2);
    at += 4;
    if (type === 0x0000) {
      // server_name: list length (2), then entries of type (1) and name (2 + bytes); type 0 is a host name.
      let entry = at + 2;
      while (entry + 3 <= at + length && entry + 3 <= end) {
        const nameLength = hello.readUInt16BE(entry + 1);
        if (hello[entry] === 0 && entry + 3 + nameLength <= end) return hello.toString('latin1', entry + 3, entry + 3 + nameLength).toLowerCase();
        entry += 3 + nameLength;
      }
      return undefined;
    }
    at += length;
  }
  return undefined;
}

/**
 * Reads a connection's first bytes until its ClientHello's server name is known, then puts them
 * back (Node's TLS socket takes bytes already read as if they had just arrived), so the TLS
 * handshake proceeds as if nothing had looked. Rejects when the client is silent past the
 * deadline or goes away.
 */
export function peekServerName(socket: Socket, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let seen: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error('no ClientHello in time')), timeoutMs);
    const finish = (error: Error | undefined, name?: string): void => {
      clearTimeout(timer);
      socket.off('data', onData).off('end', onEnd).off('close', onEnd);
      socket.pause();
      if (seen.length > 0) socket.unshift(seen);
      if (error) reject(error);
      else resolve(name);
    };
    const onEnd = (): void => finish(new Error('the client went away before its ClientHello'));
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const name = serverNameOf(seen);
      if (name !== 'incomplete') finish(undefined, name);
    };
    socket.on('data', onData).once('end', onEnd).once('close', onEnd);
    socket.resume();
  });
}
