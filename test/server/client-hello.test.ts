import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { serverNameOf } from '../../src/server/client-hello.js';

/** The first bytes a real client (Node's TLS, with its post-quantum key share where offered) sends. */
async function clientHello(servername: string | undefined): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const received = new Promise<Buffer>((resolve) => {
      server.once('connection', (socket) => {
        let seen = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => {
          seen = Buffer.concat([seen, chunk]);
          if (seen.length >= 5 && seen.length >= 5 + seen.readUInt16BE(3)) {
            resolve(seen);
            socket.destroy();
          }
        });
      });
    });
    const client = connect({ port: (server.address() as { port: number }).port, host: '127.0.0.1', ...(servername ? { servername } : {}), rejectUnauthorized: false });
    client.on('error', () => undefined);
    return await received;
  } finally {
    server.close();
  }
}

test('the server name of a real ClientHello is read, and "incomplete" until the whole record is there', async () => {
  const hello = await clientHello('Shop.Example.Test');
  assert.equal(serverNameOf(hello), 'shop.example.test');
  for (const cut of [0, 3, 5, 40, hello.length - 1]) assert.equal(serverNameOf(hello.subarray(0, cut)), 'incomplete', `cut at ${cut}`);
});

test('a ClientHello without SNI, plain HTTP, and random or truncated-length bytes give no name, and never an exception', async () => {
  assert.equal(serverNameOf(await clientHello(undefined)), undefined);
  assert.equal(serverNameOf(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), undefined);
  const hello = await clientHello('shop.example.test');
  for (let i = 0; i < 2_000; i += 1) {
    const damaged = Buffer.from(hello);
    // Lengths inside the hello pointing past its end, and noise.
    for (let j = 0; j < 4; j += 1) damaged[5 + Math.floor(Math.random() * (damaged.length - 5))] = Math.floor(Math.random() * 256);
    const name = serverNameOf(damaged);
    assert.ok(name === undefined || name === 'incomplete' || typeof name === 'string');
    assert.notEqual(serverNameOf(Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), randomBytes(1 + (i % 300))])), null);
  }
});
