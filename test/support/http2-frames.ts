/**
 * Raw HTTP/2 frames (RFC 9113 §4.1), for tests that send what no well-behaved client sends.
 * Header blocks use HPACK's static table and literals without Huffman coding (RFC 7541).
 */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FRAME = { DATA: 0x0, HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, PING: 0x6, GOAWAY: 0x7, WINDOW_UPDATE: 0x8 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const ERROR_CODE = { NO_ERROR: 0x0, PROTOCOL_ERROR: 0x1, INTERNAL_ERROR: 0x2, CANCEL: 0x8, ENHANCE_YOUR_CALM: 0xb } as const;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/**
 * A GET request's header block: :method GET, :scheme https (static table), :path and :authority
 * as literals, then `fields` (see literalField).
 */
export function getRequestBlock(path: string, authority = 'localhost', fields: readonly Buffer[] = []): Buffer {
  const literal = (index: number, value: string): Buffer => Buffer.concat([Buffer.from([index, Buffer.byteLength(value, 'latin1')]), Buffer.from(value, 'latin1')]);
  return Buffer.concat([Buffer.from([0x82, 0x87]), literal(0x04, path), literal(0x01, authority), ...fields]);
}

/**
 * A field as a literal without indexing, with a literal name (RFC 7541 §6.2.2), byte for byte:
 * any bytes at all, CR, LF, NUL and colons included, so a test can send what HPACK carries but
 * HTTP/2 forbids (RFC 9113 §8.2.1). Names and values up to 126 bytes.
 */
export function literalField(name: string, value: string): Buffer {
  const [n, v] = [Buffer.from(name, 'latin1'), Buffer.from(value, 'latin1')];
  if (n.length > 126 || v.length > 126) throw new RangeError('literalField: names and values up to 126 bytes');
  return Buffer.concat([Buffer.from([0x00, n.length]), n, Buffer.from([v.length]), v]);
}

export function rstStream(streamId: number, code: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, streamId, payload);
}

/** Reads the frames in a buffer of server output (after the connection preface exchange). */
export function readFrames(bytes: Buffer): Array<{ type: number; flags: number; streamId: number; payload: Buffer }> {
  const frames: Array<{ type: number; flags: number; streamId: number; payload: Buffer }> = [];
  for (let at = 0; at + 9 <= bytes.length; ) {
    const length = bytes.readUIntBE(at, 3);
    if (at + 9 + length > bytes.length) break;
    frames.push({ type: bytes[at + 3]!, flags: bytes[at + 4]!, streamId: bytes.readUInt32BE(at + 5) & 0x7fffffff, payload: bytes.subarray(at + 9, at + 9 + length) });
    at += 9 + length;
  }
  return frames;
}
