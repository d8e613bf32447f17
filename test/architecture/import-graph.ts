import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/**
 * The import graph of a source tree, and the two checks made on it: circles and arrows between
 * layers that the layer table does not allow. Pure but for `readImportGraph`, so the checks can be
 * fed a made-up graph and shown to fail.
 */

/** One import: the file imported (relative to the tree's root, `config/plan.ts`), and whether only types are. */
export interface Edge {
  readonly to: string;
  readonly typeOnly: boolean;
}

/** Each file (relative to the root, with `/`) and what it imports from inside the tree. */
export type ImportGraph = ReadonlyMap<string, readonly Edge[]>;

/**
 * A layer: a folder (`http`, `http/rules`) or a file at the root (`errors.ts`), what it is, and
 * the layers it may import. A file belongs to the layer of the longest folder that holds it.
 */
export interface Layer {
  readonly name: string;
  readonly is: string;
  readonly mayImport: readonly string[];
}

/** An arrow the table allows today only because it is on its way out; listed so it can be deleted. */
export interface KnownException {
  readonly from: string;
  readonly to: string;
  readonly why: string;
}

/** `import … from './x.js'`, `export … from`, `import './x.js'` and `import('./x.js')`: every way a module names another. */
const STATIC_IMPORT = /^[ \t]*(import|export)\s+(type\s+)?([^;]*?)\s*from\s*'([^']+)'/gm;
const BARE_IMPORT = /^[ \t]*import\s*'([^']+)'/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*'([^']+)'\s*\)/g;

/** The imports one file's text makes, specifiers as written. Counts `import type` (and all-`type` lists) as type-only. */
export function importsOf(text: string): { specifier: string; typeOnly: boolean }[] {
  const found: { specifier: string; typeOnly: boolean }[] = [];
  for (const match of text.matchAll(STATIC_IMPORT)) {
    const names = match[3]!;
    const list = /^\{([^}]*)\}$/.exec(names.trim())?.[1];
    const items = list?.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
    const allTypes = items !== undefined && items.length > 0 && items.every((item) => item.startsWith('type '));
    found.push({ specifier: match[4]!, typeOnly: match[2] !== undefined || allTypes });
  }
  for (const match of text.matchAll(BARE_IMPORT)) found.push({ specifier: match[1]!, typeOnly: false });
  for (const match of text.matchAll(DYNAMIC_IMPORT)) found.push({ specifier: match[1]!, typeOnly: false });
  return found;
}

/** Reads every `.ts` file under `root` and resolves its relative imports (`./x.js` → `x.ts`). Packages and `node:` are left out. */
export function readImportGraph(root: string): ImportGraph {
  const graph = new Map<string, Edge[]>();
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const edges: Edge[] = [];
        for (const { specifier, typeOnly } of importsOf(readFileSync(path, 'utf8'))) {
          if (!specifier.startsWith('.')) continue;
          const target = join(dirname(path), specifier).replace(/\.js$/, '.ts');
          if (!existsSync(target)) throw new Error(`${relative(root, path)} imports ${specifier}, which is not a file of the tree`);
          edges.push({ to: relative(root, target).split(sep).join('/'), typeOnly });
        }
        graph.set(relative(root, path).split(sep).join('/'), edges);
      }
    }
  };
  walk(root);
  return graph;
}

/**
 * Every import circle, each once, as the files around it with the first repeated at the end
 * (`a.ts → b.ts → a.ts`). Type-only imports count: see the layer table's comment.
 */
export function findCycles(graph: ImportGraph): string[][] {
  // Tarjan's strongly connected components; each component of more than one file (or a file
  // importing itself) holds at least one circle, and one circle through it is shown.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, counter);
    low.set(file, counter);
    counter += 1;
    stack.push(file);
    onStack.add(file);
    for (const { to } of graph.get(file) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(file, Math.min(low.get(file)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(file, Math.min(low.get(file)!, index.get(to)!));
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      const selfImport = (graph.get(file) ?? []).some((edge) => edge.to === file);
      if (component.length > 1 || selfImport) components.push(component);
    }
  };
  for (const file of [...graph.keys()].sort()) if (!index.has(file)) visit(file);
  return components.map((component) => circleThrough(graph, new Set(component)));
}

/** One circle inside a strongly connected component: a shortest path from its first file (sorted) back to itself. */
function circleThrough(graph: ImportGraph, component: ReadonlySet<string>): string[] {
  const start = [...component].sort()[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i += 1) {
    const file = queue[i]!;
    for (const { to } of graph.get(file) ?? []) {
      if (!component.has(to)) continue;
      if (to === start) {
        const path = [file];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0]!)!);
        return [...path, start];
      }
      if (!cameFrom.has(to)) {
        cameFrom.set(to, file);
        queue.push(to);
      }
    }
  }
  return [start, start];
}

/** The layer a file belongs to: the longest layer folder that holds it, or the root file itself; undefined if none. */
export function layerOf(file: string, layers: readonly Layer[]): Layer | undefined {
  let best: Layer | undefined;
  for (const layer of layers) {
    const holds = layer.name.endsWith('.ts') ? file === layer.name : file.startsWith(`${layer.name}/`);
    if (holds && (best === undefined || layer.name.length > best.name.length)) best = layer;
  }
  return best;
}

/**
 * Every import that crosses from one layer to another the table does not let it import, one line
 * each (`proxy/proxy-handler.ts → sites/client-address.ts: proxy may not import sites`), and every
 * file in no layer. Known exceptions are let through; one that no longer occurs is reported too,
 * so the list cannot outlive what it excuses.
 */
export function forbiddenArrows(graph: ImportGraph, layers: readonly Layer[], exceptions: readonly KnownException[] = []): string[] {
  const problems: string[] = [];
  for (const layer of layers) for (const target of layer.mayImport) if (!layers.some((other) => other.name === target)) problems.push(`the layer table: ${layer.name} may import ${target}, which is not a layer`);
  const used = new Set<KnownException>();
  for (const [file, edges] of [...graph].sort(([a], [b]) => a.localeCompare(b))) {
    const from = layerOf(file, layers);
    if (from === undefined) {
      problems.push(`${file} is in no layer: add its folder to the layer table`);
      continue;
    }
    for (const edge of edges) {
      const to = layerOf(edge.to, layers);
      if (to === undefined || to === from || from.mayImport.includes(to.name)) continue;
      const exception = exceptions.find((known) => known.from === file && known.to === edge.to);
      if (exception) {
        used.add(exception);
        continue;
      }
      problems.push(`${file} → ${edge.to}${edge.typeOnly ? ' (types only)' : ''}: ${from.name} may not import ${to.name}`);
    }
  }
  for (const exception of exceptions) if (!used.has(exception)) problems.push(`known exception ${exception.from} → ${exception.to} no longer occurs: delete it from the list`);
  return problems;
}

/** `a.ts → b.ts → a.ts`. */
export function renderCycle(cycle: readonly string[]): string {
  return cycle.join(' → ');
}
