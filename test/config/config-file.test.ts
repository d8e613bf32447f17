import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { planFromConfigFile } from '../../src/config/config-file.js';
import { configJsonSchema } from '../../src/config/config-schema.js';
import { PlanError, renderProblem } from '../../src/config/problem.js';
import { createRootCa, issueLeaf } from '../../src/tls/internal-ca/internal-ca.js';
import { runPortico } from '../support/portico-process.js';

// Each broken file is checked as a user would read the report: the exact `FILE:LINE:COL path:`
// that locates the problem, and the words that say what is wrong and what to do.
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-config-'));
  for (const folder of ['docs', 'shop', 'blog', 'files']) await mkdir(join(dir, folder));
  await writeFile(join(dir, 'a-file'), 'not a folder');
  const root = await createRootCa(Date.now());
  const now = Date.now();
  const validity = { notBefore: now - 60_000, notAfter: now + 86_400_000 };
  const shop = await issueLeaf(root, ['shop.example.test'], 'ec-p256', validity);
  const other = await issueLeaf(root, ['other.example.test'], 'ec-p256', validity);
  await writeFile(join(dir, 'shop.crt'), shop.certPem);
  await writeFile(join(dir, 'shop.key'), shop.keyPem);
  await writeFile(join(dir, 'other.key'), other.keyPem);
  await writeFile(join(dir, 'other.crt'), other.certPem);
  await writeFile(join(dir, 'md5.htpasswd'), 'alice:$apr1$abcdefgh$0123456789abcdefghijkl\n');
  await mkdir(join(dir, 'public'));
  await writeFile(join(dir, 'users.htpasswd'), `alice:${bcrypt.hashSync('secret', 4)}\nbob:${bcrypt.hashSync('secret', 4)}\n`);
});

after(() => rm(dir, { recursive: true, force: true }));

/** The problems a file gets, rendered as the CLI prints them, with the sandbox path shortened to FILE. */
async function problemsOf(text: string, name = 'portico.yaml'): Promise<string[]> {
  const file = join(dir, name);
  await writeFile(file, text);
  try {
    await planFromConfigFile(file);
  } catch (error) {
    assert.ok(error instanceof PlanError, `not a PlanError: ${String(error)}`);
    return error.problems.map((problem) => renderProblem(problem).replaceAll(file, 'FILE').replaceAll(dir, 'DIR'));
  }
  assert.fail('the file was accepted');
}

const site = (extra = '', name = 'docs', hosts = '[docs.example.test]'): string => `  - name: ${name}\n    hosts: ${hosts}\n    root: ./${name === 'shop' || name === 'blog' ? name : 'docs'}\n${extra}`;
const file = (sites: string, top = 'http: 0\nhttps: 0\n'): string => `${top}sites:\n${sites}`;

const BROKEN: Array<[string, string, RegExp]> = [
  ['a typo in a top-level key', file(site(), 'htpp: 8080\n'), /^FILE:1:1 htpp: is not a key here; did you mean http\?$/],
  ['a typo in a site key', file('  - name: docs\n    hosts: [docs.example.test]\n    rooot: ./docs\n'), /^FILE:6:5 sites\[0\]\.rooot: is not a key here; did you mean root\?$/],
  ['a key that is nothing like any', file(site('    colour: blue\n')), /^FILE:7:5 sites\[0\]\.colour: is not a key here; the keys here are name, hosts, root, default/],
  ['a worker count that is text', file(site(), 'workers: two\n'), /^FILE:1:10 workers: got "two"; must be a number of worker processes, 1 to 256$/],
  ['a port out of range', file(site(), 'http: 70000\n'), /^FILE:1:7 http: got 70000; must be at most 65535$/],
  ['both listeners off', file(site(), 'http: off\nhttps: off\n'), /^FILE:2:8 https: and http are both off, so nothing would be served; give at least one of them a port$/],
  ['the same port twice', file(site(), 'http: 9000\nhttps: 9000\n'), /^FILE:2:8 https: is 9000, the same as http; give them different ports$/],
  ['a bind address that is a name', file(site(), 'http: 0\nhttps: 0\nbind: localhost\n'), /^FILE:3:7 bind: "localhost" is not an IP address/],
  ['no sites at all', 'http: 0\n', /^FILE:1:1 sites: is missing; add it \(a list of sites\)$/],
  ['an empty list of sites', 'sites: []\n', /^FILE:1:8 sites: got a list; must list at least one site$/],
  ['a site name with capitals and a space', file(site().replace('name: docs', 'name: Docs Site')), /^FILE:4:11 sites\[0\]\.name: got "Docs Site"; must be a name of lower-case letters, digits and -/],
  ['hosts that are not a list', file(site('', 'docs', 'docs.example.test')), /^FILE:5:12 sites\[0\]\.hosts: got "docs\.example\.test"; must be a list of host names/],
  ['a host with a space', file(site('', 'docs', '[docs.example.test, "bad host"]')), /^FILE:5:32 sites\[0\]\.hosts\[1\]: "bad host" is neither a host name/],
  ['a root that does not exist', file('  - name: docs\n    hosts: [docs.example.test]\n    root: ./missing\n'), /^FILE:6:11 sites\[0\]\.root: DIR\/missing does not exist; create it or correct the path$/],
  ['a root that is a file', file('  - name: docs\n    hosts: [docs.example.test]\n    root: ./a-file\n'), /^FILE:6:11 sites\[0\]\.root: DIR\/a-file is not a folder/],
  ['two sites claiming one host', file(site() + site('', 'shop', '[shop.example.test, docs.example.test]')), /^FILE:8:32 sites\[1\]\.hosts\[1\]: docs\.example\.test is claimed by sites\[0\] \(docs\) too; a name can belong to one site only$/],
  ['two default sites', file(site('    default: true\n') + site('    default: true\n', 'shop', '[shop.example.test]')), /^FILE:11:14 sites\[1\]\.default: sites\[0\] \(docs\) is the default site already; at most one site can be default: true$/],
  ['two sites with one name', file(site() + site('', 'docs', '[other.example.test]')), /^FILE:7:11 sites\[1\]\.name: "docs" is already the name of sites\[0\]; give each site its own name$/],
  ['a vdir path without a leading slash', file(site('    vdirs:\n      - { path: downloads, root: ./files }\n')), /^FILE:8:17 sites\[0\]\.vdirs\[0\]\.path: "downloads" is not a URL prefix; start it with \//],
  ['a vdir whose folder does not exist', file(site('    vdirs:\n      - { path: /downloads, root: ./nowhere }\n')), /^FILE:8:35 sites\[0\]\.vdirs\[0\]\.root: DIR\/nowhere does not exist/],
  // Found by the config-file fuzz target (fuzz/corpus/config-file/acme-key-typo.json): a wrong key inside `tls: { acme }` threw a TypeError.
  ['a typo in a key of tls.acme', file(site('    tls: { acme: { directoryy: "https://acme.example.test/dir", email: ops@example.test } }\n')), /^FILE:7:20 sites\[0\]\.tls\.acme\.directoryy: is not a key here; did you mean directory\?$/],
  ['tls that is neither internal, files, acme nor onDemand', file(site('    tls: yes\n')), /^FILE:7:10 sites\[0\]\.tls: got "yes"; must be internal, \{ cert: FILE, key: FILE \}, \{ acme: \{ email: … \} \}, or \{ onDemand: \{ ask: URL \} \}$/],
  ['a host * without on-demand TLS', file(site('', 'docs', '[docs.example.test, "*"]')), /^FILE:5:32 sites\[0\]\.hosts\[1\]: \* matches any name, and only on-demand TLS can have a certificate for any name: add tls: \{ onDemand: \{ ask: URL \} \}/],
  ['on-demand TLS on a site without a host pattern', file(site('    tls: { onDemand: { ask: "http://127.0.0.1:9/ok" } }\n')), /^FILE:7:22 sites\[0\]\.tls\.onDemand: needs a host pattern to match names against: add \* \(any name\) or \*\.example\.test to the hosts$/],
  ['an on-demand ask that is not a URL', file(site('    tls: { onDemand: { ask: somewhere } }\n', 'docs', '["*"]')), /^FILE:7:29 sites\[0\]\.tls\.onDemand\.ask: got "somewhere"; must be an http:\/\/ or https:\/\/ URL/],
  ['a site without root that does not proxy every path', file('  - name: docs\n    hosts: [docs.example.test]\n    proxy: [{ path: /api/, to: [http://127.0.0.1:3000] }]\n'), /^FILE:4:5 sites\[0\]\.root: is missing: add the folder this site serves, or proxy every path/],
  ['an upstream with a path', file(site('    proxy: [{ path: /api/, to: [http://127.0.0.1:3000/app] }]\n')), /^FILE:7:33 sites\[0\]\.proxy\[0\]\.to\[0\]: got "http:\/\/127\.0\.0\.1:3000\/app"; must be an upstream origin/],
  ['a balance policy that does not exist', file(site('    proxy: [{ path: /, to: [http://127.0.0.1:3000], balance: random }]\n')), /^FILE:7:62 sites\[0\]\.proxy\[0\]\.balance: got "random"; must be round_robin, least_conn, first or ip_hash$/],
  ['a Redis storage URL that is not one', file(site(), 'http: 0\nhttps: 0\nstorage: { redis: { url: "127.0.0.1:6379" } }\n'), /^FILE:3:26 storage\.redis\.url: got "127\.0\.0\.1:6379"; must be a redis:\/\/ or rediss:\/\/ URL such as redis:\/\/127\.0\.0\.1:6379\/0$/],
  ['a storage kind that does not exist', file(site(), 'http: 0\nhttps: 0\nstorage: { redsi: {} }\n'), /^FILE:3:12 storage\.redsi: is not a key here; did you mean redis\?$/],
  ['a certificate with the wrong key', file(site('    tls: { cert: ./shop.crt, key: ./other.key }\n', 'shop', '[shop.example.test]')), /^FILE:7:35 sites\[0\]\.tls\.key: DIR\/other\.key is not the private key of DIR\/shop\.crt/],
  ['a certificate that does not cover the site', file(site('    tls: { cert: ./other.crt, key: ./other.key }\n', 'shop', '[shop.example.test]')), /^FILE:7:18 sites\[0\]\.tls\.cert: DIR\/other\.crt does not cover shop\.example\.test; use a certificate issued for every host of the site, or tls: internal$/],
  ['a certificate file that does not exist', file(site('    tls: { cert: ./none.crt, key: ./shop.key }\n', 'shop', '[shop.example.test]')), /^FILE:7:18 sites\[0\]\.tls\.cert: DIR\/none\.crt does not exist/],
  ['a bad indent', 'http: 0\nsites:\n  - name: docs\n    hosts: [a.test]\n   root: ./docs\n', /^FILE:5:1: .*; check the indentation and quoting here$/],
  ['a key given twice', 'http: 0\nhttp: 1\nsites: []\n', /^FILE:2:1: Map keys must be unique; check the indentation and quoting here$/],
  ['an unknown log field', file(site('    log: { dir: ./logs, fields: [date, cs(Foo)] }\n')), /^FILE:7:40 sites\[0\]\.log\.fields\[1\]: got "cs\(Foo\)"; must be a W3C field: date, time/],
  ['a duration that is not one', file(site(), 'limits:\n  headerTimeout: soon\n'), /^FILE:2:18 limits\.headerTimeout: "soon" is not a duration/],
  ['a typo in a limit', file(site(), 'limits:\n  keepAliveTimout: 75s\n'), /^FILE:2:3 limits\.keepAliveTimout: is not a key here; did you mean keepAliveTimeout\?$/],
  ['a proxy range that is not one', file(site(), 'trustedProxies: [10.0.0.0/33]\n'), /^FILE:1:18 trustedProxies\[0\]: "10\.0\.0\.0\/33" is not an IP address or a CIDR range/],
  ['CORS * with credentials', file(site('    cors: { origins: ["*"], credentials: true }\n')), /^FILE:7:42 sites\[0\]\.cors\.credentials: is true with origins: \["\*"\], which browsers refuse/],
  ['a header value with a line break', file(site('    headers:\n      - { path: /x, set: { X-Test: "a\\r\\nSet-Cookie: y" } }\n')), /^FILE:8:36 sites\[0\]\.headers\[0\]\.set\.X-Test: "a\\r\\nSet-Cookie: y" holds a line break/],
  ['a redirect to a bare host name', file(site('    redirects:\n      - { from: /old/, to: evil.test }\n')), /^FILE:8:28 sites\[0\]\.redirects\[0\]\.to: "evil\.test" is not a redirect target; start it with \//],
  ['a redirect status that is not a redirect', file(site('    redirects:\n      - { from: /old/, to: /new/, status: 200 }\n')), /^FILE:8:43 sites\[0\]\.redirects\[0\]\.status: got 200; must be 301, 302, 303, 307 or 308$/],
  ['=404 before the last tryFiles entry', file(site('    tryFiles: ["=404", "{path}"]\n')), /^FILE:7:16 sites\[0\]\.tryFiles\[0\]: "=404" is not a candidate/],
  ['a handler kind that does not exist', file(site('    routes:\n      - handle: [{ respnd: { status: 503 } }]\n')), /^FILE:8:20 sites\[0\]\.routes\[0\]\.handle\[0\]\.respnd: is not a key here; did you mean respond\?$/],
  ['a route handler naming two kinds', file(site('    routes:\n      - handle: [{ respond: {}, files: {} }]\n')), /^FILE:8:18 sites\[0\]\.routes\[0\]\.handle\[0\]: got a mapping; must name exactly one kind of handler: /],
  ['a route matching a client range that is not one', file(site('    routes:\n      - { match: { client: 10.0.0.0/33 }, handle: [{ respond: {} }] }\n')), /^FILE:8:28 sites\[0\]\.routes\[0\]\.match\.client\[0\]: "10\.0\.0\.0\/33" is not an IP address or a CIDR range/],
  ['a respond body on 204', file(site('    routes:\n      - handle: [{ respond: { status: 204, body: x } }]\n')), /^FILE:8:50 sites\[0\]\.routes\[0\]\.handle\[0\]\.respond\.body: is given with status 204, which never carries a body/],
  ['a header rule setting Transfer-Encoding', file(site('    headers:\n      - { path: "/**", set: { Transfer-Encoding: chunked } }\n')), /^FILE:8:\d+ sites\[0\]\.headers\[0\]\.set\.Transfer-Encoding: Transfer-Encoding frames the message or the connection/],
  ['a per-address connection limit of 0', file(site(), 'http: 0\nhttps: 0\nlimits: { maxConnectionsPerAddress: 0 }\n'), /^FILE:3:\d+ limits\.maxConnectionsPerAddress: (got 0; )?must be 1 or more$/],
  ['two routes with one name', file(site('    routes:\n      - { name: app, handle: [{ respond: {} }] }\n      - { name: app, handle: [{ respond: {} }] }\n')), /^FILE:9:17 sites\[0\]\.routes\[1\]\.name: app is already the name of sites\[0\]\.routes\[0\]; give each route its own name$/],
  ['tryFiles naming a route the site lacks', file(site('    tryFiles: ["{path}", "@app"]\n')), /^FILE:7:26 sites\[0\]\.tryFiles\[1\]: names the route app, which this site does not have; give a route name: app in routes$/],
  // Found by the outside review: the named route served the site's files, whose tryFiles handed the request back to it, for ever (GET hung, the worker ran out of memory).
  ['tryFiles handing to a route that serves the same files', file(site('    tryFiles: ["{path}", "@app"]\n    routes:\n      - { name: app, handle: [{ headers: [{ path: /, set: { X-A: "1" } }] }, { files: {} }] }\n')), /^FILE:9:87 sites\[0\]\.routes\[0\]\.handle\[1\]\.files: serves the site's files, whose tryFiles \(sites\[0\]\.tryFiles\[1\]\) hands requests back to this route: a loop; give this files a root of its own, or end tryFiles in =404$/],
  ['an htpasswd file that is not bcrypt', file(site('    auth:\n      - { path: /admin/, realm: Admin, htpasswd: ./md5.htpasswd }\n')), /^FILE:8:50 sites\[0\]\.auth\[0\]\.htpasswd: DIR\/md5\.htpasswd line 1 is not user:bcrypt-hash; only bcrypt is accepted \(make it with htpasswd -B\)$/],
  ['a JSON file with a wrong type', '{\n  "http": 0,\n  "sites": [\n    { "name": "docs", "hosts": ["docs.example.test"], "root": "./docs", "browse": "yes" }\n  ]\n}\n', /^FILE:4:83 sites\[0\]\.browse: got "yes"; must be true or false$/],
];

// Ten lists of ten aliases to the list before: 10^10 values once expanded ("billion laughs").
const laughs = (name: string): string => ['  - &l0 [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 9 }, (_, i) => `  - &l${i + 1} [${Array(10).fill(`*l${i}`).join(', ')}]`)].join('\n').replaceAll('l', name);
BROKEN.push(
  ['a billion laughs', `x:\n${laughs('l')}\n${file(site())}`, /^FILE:5:45: aliases from here on add more than 10000 values to the file \(an alias bomb, "billion laughs"\?\); write the values out, or use fewer aliases$/],
  ['an alias bomb inside hosts', file(`${site()}  - name: shop\n    root: ./shop\n    hosts:\n${laughs('h').replaceAll('  - ', '      - ')}\n`), /^FILE:13:49: aliases from here on add more than 10000 values/],
  ['a site with 1001 hosts', file(site('', 'docs', `[${Array.from({ length: 1001 }, (_, i) => `h${i}.example.test`).join(', ')}]`)), /^FILE:5:12 sites\[0\]\.hosts: got a list; must list at most 1000 names \(one certificate covers them all\); for more, use \*\.name or tls\.onDemand$/],
);

for (const [what, text, expected] of BROKEN) {
  test(`config file: ${what} is reported at its place`, async () => {
    const problems = await problemsOf(text, what.includes('JSON') ? 'portico.json' : 'portico.yaml');
    assert.ok(
      problems.some((problem) => expected.test(problem)),
      `expected ${expected}, got:\n${problems.join('\n')}`,
    );
  });
}

test('config file: every problem of a file is reported at once, in the order of the schema keys', async () => {
  const problems = await problemsOf(file(site('    rooot: ./x\n') + site('    default: maybe\n', 'shop', '[shop.example.test]'), 'workers: 0\nhttps: eighty\n'));
  assert.deepEqual(
    problems.map((problem) => problem.split(': ')[0]),
    ['FILE:7:5 sites[0].rooot', 'FILE:2:8 https', 'FILE:1:10 workers', 'FILE:11:14 sites[1].default'],
  );
});

test('config file: anchors and aliases that share a few settings between sites are accepted', async () => {
  const path = join(dir, 'aliases.yaml');
  await writeFile(path, `http: 0\nhttps: 0\nsites:\n  - name: docs\n    hosts: [docs.example.test]\n    root: ./docs\n    headers: &security\n      - { path: /**, set: { X-Frame-Options: DENY, X-Content-Type-Options: nosniff } }\n  - name: shop\n    hosts: [shop.example.test]\n    root: ./shop\n    headers: *security\n`);
  const plan = await planFromConfigFile(path);
  assert.deepEqual(plan.serving.sites[1]!.rules.headers, plan.serving.sites[0]!.rules.headers);
});

test('config file: an alias bomb on the command line is one FILE:LINE:COL line, exit 1, no stack', async () => {
  const path = join(dir, 'laughs.yaml');
  await writeFile(path, `x:\n${laughs('l')}\n${file(site())}`);
  const { code, stderr } = await runPortico(['check', '--config', path]);
  assert.equal(code, 1);
  assert.match(stderr.trimEnd(), new RegExp(`^portico: ${path}:5:45: aliases from here on add more than 10000 values .*\\(ERR_CONFIG_SYNTAX\\)$`));
});

test('config file: an unknown key in one site and a missing root folder in another are both reported, with the disk checks after the schema', async () => {
  const problems = await problemsOf(file(site('    colour: blue\n') + '  - name: shop\n    hosts: [shop.example.test]\n    root: ./missing\n'));
  assert.deepEqual(problems, [
    'FILE:7:5 sites[0].colour: is not a key here; the keys here are name, hosts, root, default, browse, cacheControl, tls, log, vdirs, proxy, routes, tryFiles, errors, headers, cors, auth, redirects, httpsRedirect, hsts, symlinks',
    'FILE:10:11 sites[1].root: DIR/missing does not exist; create it or correct the path',
  ]);
});

test('config file: past a site the schema refused, the checks between the other sites name their places in the file', async () => {
  const problems = await problemsOf(file(site('    default: maybe\n') + site('', 'shop', '[shop.example.test]') + site('    vdirs: [{ path: /x, root: ./nowhere }]\n', 'blog', '[blog.example.test, shop.example.test]'), 'workers: 0\nhttp: 0\nhttps: 0\n'));
  assert.deepEqual(problems, [
    'FILE:1:10 workers: got 0; must be a number of worker processes, 1 to 256',
    'FILE:8:14 sites[0].default: got "maybe"; must be true or false',
    'FILE:13:32 sites[2].hosts[1]: shop.example.test is claimed by sites[1] (shop) too; a name can belong to one site only',
    'FILE:15:31 sites[2].vdirs[0].root: DIR/nowhere does not exist; create it or correct the path',
  ]);
});

test('config file: a broken file on the command line gives one line per problem, exit 1, and no stack trace', async () => {
  const path = join(dir, 'cli.yaml');
  await writeFile(path, file(site('    rooot: ./x\n'), 'workers: 0\n'));
  const { code, stdout, stderr } = await runPortico(['check', '--config', path]);
  assert.equal(code, 1);
  assert.equal(stdout, '');
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 2, stderr);
  assert.match(lines[0]!, new RegExp(`^portico: ${path}:6:5 sites\\[0\\]\\.rooot: is not a key here; did you mean root\\? \\(ERR_CONFIG_INVALID\\)$`));
  assert.doesNotMatch(stderr, /\n\s+at /);
});

/** Writes FILE from its lines, runs `portico check --config FILE`, and compares every line it prints (the sandbox as DIR). */
async function assertCheckPrints(name: string, lines: readonly string[], expected: readonly string[]): Promise<void> {
  const path = join(dir, name);
  await writeFile(path, [...lines, ''].join('\n'));
  const { code, stdout, stderr } = await runPortico(['check', '--config', path]);
  assert.equal(code, 0, stderr);
  assert.equal(stdout.replaceAll(dir, 'DIR'), [...expected, ''].join('\n'));
}

test('portico check prints the sites of a valid three-site file, their hosts, certificates and log folders, and exits 0', async () => {
  await assertCheckPrints(
    'three.yaml',
    [
      '# yaml-language-server: $schema=../portico.schema.json',
      'http: 8080',
      'https: 8443',
      'bind: 127.0.0.1',
      'workers: 2',
      'state: ./state',
      'sites:',
      '  - name: docs',
      '    hosts: [docs.example.test, "*.docs.example.test"]',
      '    root: ./docs',
      '    default: true',
      '    log: { dir: ./logs/docs }',
      '    vdirs:',
      '      - { path: /downloads, root: ./files, browse: true }',
      '  - name: shop',
      '    hosts: [shop.example.test]',
      '    root: ./shop',
      '    tls: { cert: ./shop.crt, key: ./shop.key }',
      '  - name: blog',
      '    hosts: [Blog.Example.Test]',
      '    root: ./blog',
    ],
    [
      'DIR/three.yaml: valid, 3 site(s)',
      '  listeners: http 127.0.0.1:8080, https 127.0.0.1:8443; workers: 2; state: DIR/state',
      '  site docs (default)',
      '    hosts:       docs.example.test, *.docs.example.test',
      '    root:        DIR/docs; /downloads -> DIR/files',
      '    certificate: internal CA (ec-p256)',
      '    access log:  DIR/logs/docs',
      '  site shop',
      '    hosts:       shop.example.test',
      '    root:        DIR/shop',
      '    certificate: files DIR/shop.crt, DIR/shop.key',
      '    access log:  off',
      '  site blog',
      '    hosts:       blog.example.test',
      '    root:        DIR/blog',
      '    certificate: internal CA (ec-p256)',
      '    access log:  off',
    ],
  );
});

// `portico check` "shows what it will serve" (docs/recipes.md): besides hosts, root and
// certificate, each site's routes, rules and proxy targets, one line each.
test('portico check lists each site\'s redirects, auth, proxy routes, tryFiles, error pages, header rules and CORS, one line each', async () => {
  await assertCheckPrints(
    'app.yaml',
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
    ],
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
    ],
  );
});

test('portico.schema.json in the repository is the one generated from the schema (npm run schema)', async () => {
  const committed = JSON.parse(await readFile(new URL('../../../portico.schema.json', import.meta.url), 'utf8')) as unknown;
  assert.deepEqual(committed, configJsonSchema());
});

test('the JSON Schema describes the contract keys, so editors complete and check them', () => {
  const schema = configJsonSchema() as { properties: Record<string, unknown>; additionalProperties: boolean };
  for (const key of ['http', 'https', 'bind', 'state', 'workers', 'sites']) assert.ok(key in schema.properties, key);
  const sites = schema.properties.sites as { items: { properties: Record<string, unknown>; required: string[] } };
  for (const key of ['name', 'hosts', 'root', 'default', 'browse', 'tls', 'log', 'vdirs', 'proxy']) assert.ok(key in sites.items.properties, key);
  // root may be left out when a proxy route takes every path (the reverse-proxy issue).
  assert.deepEqual(sites.items.required.sort(), ['hosts', 'name']);
  assert.equal(schema.additionalProperties, false);
});

test('the two-site example the README shows is examples/two-sites/portico.yaml, and it is valid', async () => {
  const example = new URL('../../../examples/two-sites/portico.yaml', import.meta.url);
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  const text = await readFile(example, 'utf8');
  assert.ok(readme.includes(`\`\`\`yaml\n${text}\`\`\``), 'README.md shows another file than examples/two-sites/portico.yaml');
  const { code, stdout, stderr } = await runPortico(['check', '--config', example.pathname]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /valid, 2 site\(s\)/);
});
