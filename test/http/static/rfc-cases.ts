import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Reply } from '../../support/http-request.js';

export type Get = (path: string, headers?: Record<string, string>, method?: string) => Promise<Reply>;

/**
 * RFC 9110's validators (§8.8), conditional requests (§13) and ranges (§14) as tables, run
 * twice: in-process against the static Handler (static-handler.test.ts) and over real sockets
 * (rfc-semantics.test.ts). `data` is /data.bin (100,000 bytes), `page.txt` a compressible text.
 */
export function defineRfcCases(where: string, get: Get, data: Buffer): void {
  const etagOf = async (path: string): Promise<string> => (await get(path, {}, 'HEAD')).headers.etag as string;
  const lastModifiedOf = async (path: string): Promise<string> => (await get(path, {}, 'HEAD')).headers['last-modified'] as string;

  test(`${where}: 304 carries ETag and Cache-Control, and no body or content metadata`, async () => {
    const reply = await get('/page.txt', { 'if-none-match': await etagOf('/page.txt'), 'accept-encoding': 'identity' });
    assert.equal(reply.status, 304);
    assert.equal(reply.body.length, 0);
    assert.ok(reply.headers.etag && reply.headers['cache-control']);
    assert.equal(reply.headers.vary, 'Accept-Encoding');
    for (const absent of ['content-length', 'content-type', 'content-encoding', 'last-modified']) assert.equal(reply.headers[absent], undefined, absent);
  });

  test(`${where}: conditional requests follow RFC 9110 §13.2.2 precedence end to end`, async () => {
    const etag = await etagOf('/data.bin');
    const lastModified = await lastModifiedOf('/data.bin');
    const earlier = new Date(Date.parse(lastModified) - 10_000).toUTCString();
    const table: Array<[Record<string, string>, number]> = [
      [{ 'if-match': etag }, 200],
      [{ 'if-match': '"other"' }, 412],
      [{ 'if-match': '*' }, 200],
      [{ 'if-unmodified-since': earlier }, 412],
      [{ 'if-unmodified-since': lastModified }, 200],
      [{ 'if-match': etag, 'if-unmodified-since': earlier }, 200],
      [{ 'if-none-match': etag }, 304],
      [{ 'if-none-match': `W/${etag}` }, 304],
      [{ 'if-none-match': `"x", ${etag}` }, 304],
      [{ 'if-none-match': '*' }, 304],
      [{ 'if-none-match': '"other"' }, 200],
      [{ 'if-modified-since': lastModified }, 304],
      [{ 'if-modified-since': earlier }, 200],
      [{ 'if-none-match': '"other"', 'if-modified-since': lastModified }, 200],
      [{ 'if-match': '"other"', 'if-none-match': etag }, 412],
      [{ 'if-modified-since': 'not a date' }, 200],
    ];
    for (const [headers, status] of table) assert.equal((await get('/data.bin', headers)).status, status, JSON.stringify(headers));
  });

  test(`${where}: single ranges: a-b, a- and -n give 206 with Content-Range and exactly those bytes`, async () => {
    const table: Array<[string, number, number]> = [
      ['bytes=0-99', 0, 99],
      ['bytes=99990-', 99_990, 99_999],
      ['bytes=-10', 99_990, 99_999],
      ['bytes=50000-50000', 50_000, 50_000],
      ['bytes=99000-200000', 99_000, 99_999],
    ];
    for (const [range, start, end] of table) {
      const reply = await get('/data.bin', { range });
      assert.equal(reply.status, 206, range);
      assert.equal(reply.headers['content-range'], `bytes ${start}-${end}/100000`);
      assert.equal(reply.headers['content-length'], String(end - start + 1));
      assert.ok(reply.body.equals(data.subarray(start, end + 1)), range);
    }
  });

  test(`${where}: an unsatisfiable range is 416 with Content-Range: bytes */LEN`, async () => {
    const reply = await get('/data.bin', { range: 'bytes=100000-' });
    assert.equal(reply.status, 416);
    assert.equal(reply.headers['content-range'], 'bytes */100000');
  });

  test(`${where}: an invalid Range header, or another unit, is ignored: 200 with the whole file`, async () => {
    for (const range of ['bytes=9-1', 'bytes=abc', 'items=0-1', 'bytes=0-1,,x']) {
      const reply = await get('/data.bin', { range });
      assert.equal(reply.status, 200, range);
      assert.ok(reply.body.equals(data));
    }
  });

  test(`${where}: several ranges give multipart/byteranges, parsed back byte for byte, in the order asked`, async () => {
    const reply = await get('/data.bin', { range: 'bytes=500-599, 0-9, -5' });
    assert.equal(reply.status, 206);
    assert.equal(Number(reply.headers['content-length']), reply.body.length);
    const parts = parseMultipart(reply);
    assert.deepEqual(parts.map((p) => p.contentRange), ['bytes 500-599/100000', 'bytes 0-9/100000', 'bytes 99995-99999/100000']);
    for (const part of parts) {
      const [, start, end] = /bytes (\d+)-(\d+)/.exec(part.contentRange)!.map(Number);
      assert.equal(part.contentType, 'application/octet-stream');
      assert.ok(part.body.equals(data.subarray(start, end! + 1)), part.contentRange);
    }
  });

  test(`${where}: overlapping ranges are coalesced into one`, async () => {
    const reply = await get('/data.bin', { range: 'bytes=0-99,50-149,150-199' });
    assert.equal(reply.status, 206);
    assert.equal(reply.headers['content-range'], 'bytes 0-199/100000');
    assert.ok(reply.body.equals(data.subarray(0, 200)));
  });

  test(`${where}: If-Range with the current ETag or Last-Modified honours the range; anything else sends 200`, async () => {
    const etag = await etagOf('/data.bin');
    const lastModified = await lastModifiedOf('/data.bin');
    assert.equal((await get('/data.bin', { range: 'bytes=0-9', 'if-range': etag })).status, 206);
    assert.equal((await get('/data.bin', { range: 'bytes=0-9', 'if-range': lastModified })).status, 206);
    const stale = await get('/data.bin', { range: 'bytes=0-9', 'if-range': '"stale"' });
    assert.equal(stale.status, 200);
    assert.ok(stale.body.equals(data));
    assert.equal((await get('/data.bin', { range: 'bytes=0-9', 'if-range': `W/${etag}` })).status, 200);
  });
}

interface Part {
  contentType: string;
  contentRange: string;
  body: Buffer;
}

function parseMultipart(reply: Reply): Part[] {
  const boundary = /boundary=(\S+)/.exec(reply.headers['content-type'] as string)![1]!;
  const body = reply.body.toString('latin1');
  assert.ok(body.endsWith(`\r\n--${boundary}--\r\n`), 'closing delimiter');
  return body
    .slice(0, body.lastIndexOf(`\r\n--${boundary}--`))
    .split(new RegExp(`(?:^|\\r\\n)--${boundary}\\r\\n`))
    .filter((chunk) => chunk.length > 0)
    .map((chunk) => {
      const split = chunk.indexOf('\r\n\r\n');
      const head = chunk.slice(0, split);
      return {
        contentType: /content-type: (.*)/i.exec(head)![1]!.trim(),
        contentRange: /content-range: (.*)/i.exec(head)![1]!.trim(),
        body: Buffer.from(chunk.slice(split + 4), 'latin1'),
      };
    });
}
