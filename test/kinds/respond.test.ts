import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kindSchema } from '../../src/config/schema-kit.js';
import { respondKind } from '../../src/kinds/respond/respond-kind.js';
import type { KindContext } from '../../src/routes/kind.js';
import { collect, exchange } from '../support/in-process.js';

const context = {} as KindContext;

function planned(config: Parameters<typeof respondKind.compile>[0] | object): { problems: string[]; plan: Parameters<typeof respondKind.compile>[0] } {
  const problems: string[] = [];
  const plan = respondKind.plan!(kindSchema(respondKind).parse(config), { base: '/', report: (key, problem) => problems.push(`${key.join('.')}: ${problem}`) }) as Parameters<typeof respondKind.compile>[0];
  return { problems, plan };
}

test('respond answers with its status, body and headers; HEAD gets the head alone', async () => {
  const { plan } = planned({ status: 503, body: 'Back soon\n', headers: { 'Retry-After': '120' } });
  const { handler } = await respondKind.compile(plan, context);
  const next = () => assert.fail('respond never passes a request on');
  const get = await handler(exchange('GET', '/down'), next);
  assert.equal(get.status, 503);
  assert.equal(get.headers['retry-after'], '120');
  assert.equal(get.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(get.headers['content-length'], '10');
  assert.equal((await collect(get)).toString(), 'Back soon\n');
  const head = await handler(exchange('HEAD', '/down'), next);
  assert.equal(head.status, 503);
  assert.equal(head.headers['content-length'], '10');
  assert.equal(head.body.kind, 'none');
});

test('respond without a body says so with Content-Length: 0; the type can be given', async () => {
  const empty = await respondKind.compile(planned({}).plan, context);
  const answer = await empty.handler(exchange('GET', '/'), () => assert.fail());
  assert.equal(answer.status, 200);
  assert.equal(answer.headers['content-length'], '0');
  const json = await respondKind.compile(planned({ body: '{"ok":true}', headers: { 'Content-Type': 'application/json' } }).plan, context);
  assert.equal((await json.handler(exchange('GET', '/'), () => assert.fail())).headers['content-type'], 'application/json');
});

test('respond refuses a body on 204, a header value it cannot send and a field that frames the message', () => {
  assert.deepEqual(planned({ status: 204, body: 'x' }).problems, ['body: is given with status 204, which never carries a body; remove the body or choose another status']);
  assert.match(planned({ headers: { 'X-A': 'a\r\nSet-Cookie: x' } }).problems.join(), /^headers\.X-A: "a\\r\\nSet-Cookie: x" holds a line break/);
  // Found by the outside review: Transfer-Encoding went out beside Content-Length on HTTP/1.1
  // (RFC 9112 §6.2) and reset the stream on HTTP/2; a value beyond Latin-1 made a `500 OK`.
  for (const name of ['Transfer-Encoding', 'content-length', 'Connection', 'Upgrade', 'Keep-Alive', 'TE', 'Trailer', 'Proxy-Connection']) {
    assert.match(planned({ headers: { [name]: 'chunked' } }).problems.join(), new RegExp(`^headers\\.${name}: ${name} frames the message or the connection, which Portico does itself`), name);
  }
  assert.match(planned({ headers: { 'X-U': '\u20ac' } }).problems.join(), /^headers\.X-U: "\u20ac" holds .* beyond Latin-1/);
  assert.deepEqual(planned({ headers: { 'X-L': 'caf\u00e9', 'Retry-After': '120' } }).problems, []);
  assert.throws(() => kindSchema(respondKind).parse({ status: 99 }));
  assert.throws(() => kindSchema(respondKind).parse({ status: 200, bodyy: 'x' }));
});
