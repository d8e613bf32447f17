import assert from 'node:assert/strict';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { findCycles, forbiddenArrows, type ImportGraph, importsOf, type KnownException, type Layer, readImportGraph, renderCycle } from './import-graph.js';

/**
 * Portico's layers: each folder of src/ (a sub-folder listed on its own is a layer of its own),
 * what it is, and what it may import. An import between two layers that its row does not list
 * fails `npm test`, and so does any import circle between files.
 *
 * `import type` counts, for the circles as for the layers (as madge and dependency-cruiser count
 * it by default): it is erased at run time, so it cannot break module loading, but it is still a
 * dependency of the design: the importer must change when the type does, and a type-only arrow
 * that points the wrong way is how a real one starts. Dynamic `import()` counts too.
 *
 * Adding a folder: give it a row. Adding an arrow: add it to the importer's row if it points
 * down; if it points up, move the thing imported down instead (as src/text/suggest.ts,
 * src/tls/key-exchange-groups.ts and src/http/client-address.ts were).
 */
const FOUNDATION = ['errors.ts', 'version.ts', 'fault-injection.ts', 'text'];

export const LAYERS: readonly Layer[] = [
  { name: 'errors.ts', is: 'error codes and the catalogue; the one user-error formatter', mayImport: [] },
  { name: 'version.ts', is: "Portico's version", mayImport: [] },
  { name: 'fault-injection.ts', is: 'test-only fault switches', mayImport: [] },
  { name: 'text', is: 'words for people: typo guesses', mayImport: [] },
  { name: 'limits', is: 'counts both the worker and the primary keep: sign-in failures per address', mayImport: [] },
  { name: 'log', is: 'the operator log and the W3C access log format', mayImport: [...FOUNDATION, 'http'] },
  { name: 'config', is: 'flags and config file → the frozen Plan; defaults and value parsers; the schema takes each handler kind\'s from its kind', mayImport: [...FOUNDATION, 'log', 'tls', 'http/rules', 'routes', 'proxy'] },
  { name: 'tls', is: 'key material, certificates, storage: the primary only', mayImport: [...FOUNDATION, 'log', 'config'] },
  { name: 'http', is: 'the transport-neutral request path: exchange, response, handlers, static files', mayImport: [...FOUNDATION, 'log', 'config', 'routes'] },
  { name: 'http/rules', is: 'what a site says beyond its files', mayImport: [...FOUNDATION, 'limits', 'log', 'config', 'http', 'routes'] },
  { name: 'proxy', is: 'the reverse proxy handler', mayImport: [...FOUNDATION, 'log', 'config', 'http', 'http/rules', 'routes'] },
  { name: 'kinds', is: 'handler kinds of their own folder: respond and the site rules', mayImport: [...FOUNDATION, 'limits', 'log', 'config', 'http', 'http/rules', 'routes'] },
  { name: 'routes', is: 'the handler-kind contract, the registry, route matchers and a site\'s routes compiled', mayImport: [...FOUNDATION, 'limits', 'log', 'config', 'http', 'http/rules', 'proxy', 'kinds'] },
  { name: 'server', is: 'listeners, TLS serving, the HTTP/1.1 and HTTP/2 transports', mayImport: [...FOUNDATION, 'log', 'config', 'tls', 'http'] },
  { name: 'sites', is: "a worker's sites: routing by host, each site's chain, access logs", mayImport: [...FOUNDATION, 'limits', 'log', 'config', 'http', 'http/rules', 'proxy', 'routes'] },
  { name: 'cluster', is: 'the primary and its workers', mayImport: [...FOUNDATION, 'limits', 'log', 'config', 'tls', 'http', 'server', 'sites'] },
  { name: 'cli', is: 'the commands', mayImport: [...FOUNDATION, 'log', 'config', 'tls', 'cluster'] },
  { name: 'main.ts', is: 'primary or worker, nothing else', mayImport: ['cli', 'cluster'] },
];

/** Arrows that break the table today and are on their way out: each names what removes it. */
export const KNOWN_EXCEPTIONS: readonly KnownException[] = [];

/** What the issue names as the rules the table must keep, whatever else changes in it. */
const REQUIRED_REFUSALS: readonly [string, readonly string[]][] = [
  ['config', ['cli', 'server']],
  ['proxy', ['sites']],
  ['cluster', ['http/rules']],
  ['http', ['server', 'cluster', 'cli', 'sites']],
  ['tls', ['http', 'sites', 'cli']],
  ['log', ['sites', 'cluster', 'cli']],
];

const source = readImportGraph(fileURLToPath(new URL('../../../src/', import.meta.url)));

test('src/ has no import circle (type-only imports count)', () => {
  const cycles = findCycles(source);
  assert.deepEqual(cycles.map(renderCycle), [], `import circles in src/:\n${cycles.map(renderCycle).join('\n')}`);
});

test("every import in src/ follows the layer table (docs/design.md, 'Layers')", () => {
  const problems = forbiddenArrows(source, LAYERS, KNOWN_EXCEPTIONS);
  assert.deepEqual(problems, [], `imports the layer table does not allow:\n${problems.join('\n')}`);
});

test('the layer table keeps the arrows issue 20 removed out', () => {
  for (const [from, refused] of REQUIRED_REFUSALS) {
    const row = LAYERS.find((layer) => layer.name === from);
    assert.ok(row, `${from} has a row`);
    for (const to of refused) assert.ok(!row.mayImport.includes(to), `${from} may not import ${to}`);
  }
});

test('the checker finds a circle and a forbidden arrow in a graph made to have both', () => {
  const edge = (to: string, typeOnly = false) => ({ to, typeOnly });
  const graph: ImportGraph = new Map([
    ['low/a.ts', [edge('low/b.ts')]],
    ['low/b.ts', [edge('low/c.ts', true)]],
    ['low/c.ts', [edge('low/a.ts')]],
    ['low/d.ts', [edge('high/e.ts', true)]],
    ['high/e.ts', [edge('low/d.ts')]],
    ['high/f.ts', [edge('high/f.ts')]],
    ['nowhere/g.ts', []],
  ]);
  const layers: Layer[] = [
    { name: 'low', is: 'below', mayImport: [] },
    { name: 'high', is: 'above', mayImport: ['low'] },
  ];
  assert.deepEqual(findCycles(graph).map(renderCycle).sort(), ['high/e.ts → low/d.ts → high/e.ts', 'high/f.ts → high/f.ts', 'low/a.ts → low/b.ts → low/c.ts → low/a.ts']);
  assert.deepEqual(forbiddenArrows(graph, layers), ['low/d.ts → high/e.ts (types only): low may not import high', 'nowhere/g.ts is in no layer: add its folder to the layer table']);
  // A known exception lets its arrow through, and one that no longer occurs is reported.
  assert.deepEqual(
    forbiddenArrows(graph, layers, [
      { from: 'low/d.ts', to: 'high/e.ts', why: 'test' },
      { from: 'low/a.ts', to: 'high/f.ts', why: 'gone' },
    ]),
    ['nowhere/g.ts is in no layer: add its folder to the layer table', 'known exception low/a.ts → high/f.ts no longer occurs: delete it from the list'],
  );
});

test('imports are read in every form a module names another, type-only ones marked', () => {
  const text = [
    "import { a, type B } from './a.js';",
    "import type { C } from './c.js';",
    'import {',
    '  type D,',
    '  type E,',
    "} from './d.js';",
    "export { f } from './f.js';",
    "export type { G } from './g.js';",
    "import './side-effect.js';",
    "const h = await import('./h.js');",
    "import { readFile } from 'node:fs/promises';",
    " * a comment that says import x from './not-an-import.js' mid-line",
  ].join('\n');
  assert.deepEqual(importsOf(text), [
    { specifier: './a.js', typeOnly: false },
    { specifier: './c.js', typeOnly: true },
    { specifier: './d.js', typeOnly: true },
    { specifier: './f.js', typeOnly: false },
    { specifier: './g.js', typeOnly: true },
    { specifier: 'node:fs/promises', typeOnly: false },
    { specifier: './side-effect.js', typeOnly: false },
    { specifier: './h.js', typeOnly: false },
  ]);
});
