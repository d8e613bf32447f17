/**
 * Summarises a V8 CPU profile (`node --cpu-prof`; docs/performance.md says how the handshake
 * profiles were taken): self time by where the code lives — Portico's own modules, its
 * dependencies, Node's JavaScript, and what V8 reports without a script (native code such as
 * OpenSSL's handshake work, the garbage collector, idle) — then the functions with the most self
 * time.
 *
 *   node dist/bench/cpu-profile-summary.js FILE.cpuprofile [TOP]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: cpu-profile-summary.js FILE.cpuprofile [TOP]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
// Each sample's time is the delta that follows it: exact where hitCount × interval is not.
const selfMicros = new Map<number, number>();
profile.samples.forEach((id, i) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0)));

function origin(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (url === '') return 'native (OpenSSL, libuv, V8 builtins)';
  if (url.startsWith('node:')) return 'Node.js JavaScript';
  if (url.includes('/node_modules/')) return 'dependencies';
  return 'Portico';
}

const byOrigin = new Map<string, number>();
const byFunction = new Map<string, number>();
let total = 0;
for (const [id, micros] of selfMicros) {
  const node = byId.get(id);
  if (!node) continue;
  total += micros;
  const where = origin(node);
  byOrigin.set(where, (byOrigin.get(where) ?? 0) + micros);
  const { functionName, url, lineNumber } = node.callFrame;
  const name = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${lineNumber + 1}` : ''}`.trim();
  byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
}
const busy = total - (byOrigin.get('idle') ?? 0);
const share = (micros: number, of: number): string => `${((100 * micros) / of).toFixed(1).padStart(5)} %`;
console.log(`${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy; shares of busy time:`);
for (const [where, micros] of [...byOrigin].sort((a, b) => b[1] - a[1])) if (where !== 'idle') console.log(`  ${share(micros, busy)}  ${where}`);
console.log(`top ${topArg ?? 25} functions by self time (share of busy time):`);
for (const [name, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 25))) {
  if (name.startsWith('(idle)')) continue;
  console.log(`  ${share(micros, busy)}  ${name}`);
}
