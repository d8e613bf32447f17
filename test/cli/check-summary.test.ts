import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { runPortico } from '../support/portico-process.js';

// `portico check` "shows what it will serve" (docs/recipes.md): besides hosts, root and
// certificate, each site's routes, rules and proxy targets, one line each.
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-check-'));
  await mkdir(join(dir, 'public'));
  await writeFile(join(dir, 'users.htpasswd'), `alice:${bcrypt.hashSync('secret', 4)}\nbob:${bcrypt.hashSync('secret', 4)}\n`);
});

after(() => rm(dir, { recursive: true, force: true }));

test('portico check lists each site\'s redirects, auth, proxy routes, tryFiles, error pages, header rules and CORS, one line each', async () => {
  const path = join(dir, 'app.yaml');
  await writeFile(
    path,
    [
      'http: 8080',
      'https: 8443',
      'workers: 1',
      'state: ./state',
      'sites:',
      '  - name: app',
      '    hosts: [app.example.test]',
      '    root: ./public',
      '    httpsRedirect: true',
      '    hsts: { maxAge: 31536000 }',
      '    redirects: [{ from: /old/, to: "/new/{path}" }]',
      '    auth: [{ path: /admin/, realm: Admin, htpasswd: ./users.htpasswd }]',
      '    proxy:',
      '      - { path: /api/, to: [http://127.0.0.1:3001, http://127.0.0.1:3002], balance: least_conn, health: { path: /health } }',
      '    tryFiles: ["{path}", "/index.html"]',
      '    errors: { 404: /404.html }',
      '    headers:',
      '      - { path: "/assets/**", set: { Cache-Control: "public, max-age=31536000, immutable" }, remove: [Server] }',
      '    cors: { origins: [https://web.example.test] }',
      '  - name: api',
      '    hosts: [api.example.test]',
      '    proxy: [{ path: /, to: [http://127.0.0.1:4000], host: upstream }]',
      '',
    ].join('\n'),
  );
  const { code, stdout, stderr } = await runPortico(['check', '--config', path]);
  assert.equal(code, 0, stderr);
  assert.equal(
    stdout.replaceAll(dir, 'DIR'),
    [
      'DIR/app.yaml: valid, 2 site(s)',
      '  listeners: http *:8080, https *:8443; workers: 1; state: DIR/state',
      '  site app',
      '    hosts:       app.example.test',
      '    root:        DIR/public',
      '    certificate: internal CA (ec-p256)',
      '    access log:  off',
      '    redirect:    plain HTTP -> https:// (308)',
      '    hsts:        max-age=31536000',
      '    redirect:    /old/ -> /new/{path} (301)',
      '    auth:        /admin/ realm "Admin", 2 user(s) from DIR/users.htpasswd',
      '    proxy:       /api/ -> http://127.0.0.1:3001, http://127.0.0.1:3002 (least_conn, health /health every 5s)',
      '    tryFiles:    {path}, /index.html',
      '    error page:  404 -> /404.html',
      '    headers:     /assets/** set cache-control: public, max-age=31536000, immutable; remove server',
      '    cors:        https://web.example.test (GET, HEAD, POST)',
      '  site api',
      '    hosts:       api.example.test',
      '    root:        none (every path is proxied)',
      '    certificate: internal CA (ec-p256)',
      '    access log:  off',
      '    proxy:       / -> http://127.0.0.1:4000 (round_robin, Host: upstream)',
      '',
    ].join('\n'),
  );
});
