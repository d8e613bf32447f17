import { randomBytes } from 'node:crypto';
import { type ByteRange, contentRange } from './byte-range.js';

export interface MultipartPart {
  readonly head: string;
  readonly range: ByteRange;
}

export interface MultipartLayout {
  readonly contentType: string;
  readonly parts: readonly MultipartPart[];
  readonly tail: string;
  /** The exact body length, so the response can carry Content-Length. */
  readonly length: number;
}

/** The framing of a multipart/byteranges body (RFC 9110 §14.6); the bytes come from the file. */
export function multipartLayout(ranges: readonly ByteRange[], size: number, type: string, boundary = randomBytes(12).toString('hex')): MultipartLayout {
  const parts = ranges.map((range, i) => ({
    head: `${i === 0 ? '' : '\r\n'}--${boundary}\r\ncontent-type: ${type}\r\ncontent-range: ${contentRange(range, size)}\r\n\r\n`,
    range,
  }));
  const tail = `\r\n--${boundary}--\r\n`;
  const length = parts.reduce((sum, part) => sum + Buffer.byteLength(part.head) + part.range.end - part.range.start + 1, Buffer.byteLength(tail));
  return { contentType: `multipart/byteranges; boundary=${boundary}`, parts, tail, length };
}
