import { readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';

export interface ListingEntry {
  readonly name: string;
  readonly isDirectory: boolean;
  readonly size: number;
  readonly modified: number;
}

export type SortKey = 'name' | 'size' | 'modified';
export interface ListingSort {
  readonly key: SortKey;
  readonly order: 'asc' | 'desc';
}

/**
 * Reads a folder for a listing: hidden entries are left out (as they are not served), and so is
 * any symbolic link whose target leaves the root or cannot be read.
 */
export async function readListing(realRoot: string, folder: string): Promise<ListingEntry[]> {
  const names = await readdir(folder);
  const entries = await Promise.all(
    names
      .filter((name) => !name.startsWith('.'))
      .map(async (name): Promise<ListingEntry | undefined> => {
        try {
          const real = await realpath(join(folder, name));
          if (real !== realRoot && !real.startsWith(realRoot + sep)) return undefined;
          const info = await stat(real);
          if (!info.isDirectory() && !info.isFile()) return undefined;
          return { name, isDirectory: info.isDirectory(), size: info.isDirectory() ? 0 : info.size, modified: info.mtimeMs };
        } catch {
          return undefined;
        }
      }),
  );
  return entries.filter((entry): entry is ListingEntry => entry !== undefined);
}

/** `?sort=size&order=desc`; anything else falls back to name, ascending. Pure. */
export function parseListingSort(query: string): ListingSort {
  const params = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query);
  const key = params.get('sort');
  return {
    key: key === 'size' || key === 'modified' ? key : 'name',
    order: params.get('order') === 'desc' ? 'desc' : 'asc',
  };
}

/** Folders first, then by the chosen key; names compare as people expect ("file2" < "file10"). */
export function sortListing(entries: readonly ListingEntry[], sort: ListingSort): ListingEntry[] {
  const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
  const direction = sort.order === 'desc' ? -1 : 1;
  const byKey = (a: ListingEntry, b: ListingEntry): number => {
    if (sort.key === 'size' && a.size !== b.size) return a.size - b.size;
    if (sort.key === 'modified' && a.modified !== b.modified) return a.modified - b.modified;
    return collator.compare(a.name, b.name);
  };
  return [...entries].sort((a, b) => (a.isDirectory !== b.isDirectory ? (a.isDirectory ? -1 : 1) : direction * byKey(a, b)));
}

/** The listing as JSON, for `Accept: application/json`. Pure. */
export function renderListingJson(segments: readonly string[], entries: readonly ListingEntry[]): string {
  const base = folderHref(segments);
  return `${JSON.stringify(
    entries.map((entry) => ({
      name: entry.name,
      type: entry.isDirectory ? 'directory' : 'file',
      size: entry.size,
      modified: new Date(entry.modified).toISOString(),
      url: `${base}${encodeURIComponent(entry.name)}${entry.isDirectory ? '/' : ''}`,
    })),
    null,
    2,
  )}\n`;
}

/** The listing as an HTML page: breadcrumbs, sortable columns, readable on a phone. Pure. */
export function renderListingHtml(segments: readonly string[], entries: readonly ListingEntry[], sort: ListingSort): string {
  const title = `/${segments.join('/')}${segments.length > 0 ? '/' : ''}`;
  const crumbs = [`<a href="/">/</a>`, ...segments.map((segment, i) => `<a href="${escapeHtml(folderHref(segments.slice(0, i + 1)))}">${escapeHtml(segment)}</a><span>/</span>`)].join('');
  const header = (key: SortKey, label: string, className: string): string => {
    const active = sort.key === key;
    const order = active && sort.order === 'asc' ? 'desc' : 'asc';
    const arrow = active ? (sort.order === 'asc' ? ' ↑' : ' ↓') : '';
    return `<th class="${className}"${active ? ` aria-sort="${sort.order === 'asc' ? 'ascending' : 'descending'}"` : ''}><a href="?sort=${key}&amp;order=${order}">${label}${arrow}</a></th>`;
  };
  const up = segments.length > 0 ? `<tr class="dir"><td class="name"><a href="../">../</a></td><td class="size">—</td><td class="modified"></td></tr>\n` : '';
  const rows = entries
    .map((entry) => {
      const href = `${encodeURIComponent(entry.name)}${entry.isDirectory ? '/' : ''}`;
      const size = entry.isDirectory ? '—' : `<span title="${entry.size} bytes">${formatSize(entry.size)}</span>`;
      const modified = new Date(entry.modified).toISOString();
      return `<tr class="${entry.isDirectory ? 'dir' : 'file'}"><td class="name"><a href="${escapeHtml(href)}">${escapeHtml(entry.name)}${entry.isDirectory ? '/' : ''}</a></td><td class="size">${size}</td><td class="modified"><time datetime="${modified}">${modified.slice(0, 16).replace('T', ' ')}</time></td></tr>`;
    })
    .join('\n');
  const count = `${entries.filter((e) => e.isDirectory).length} folder(s), ${entries.filter((e) => !e.isDirectory).length} file(s)`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Index of ${escapeHtml(title)}</title>
<style>
:root { color-scheme: light dark; --fg: #1d1f21; --muted: #6a737d; --line: #e3e6ea; --link: #0b5cad; --hover: #f3f6f9; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e6e6; --muted: #9aa4ae; --line: #30363d; --link: #6cb6ff; --hover: #1c2128; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.25rem; font-weight: 600; margin: 0 0 0.25rem; word-break: break-all; }
h1 .label { color: var(--muted); font-weight: 400; margin-right: 0.4rem; }
nav.crumbs { display: inline; } nav.crumbs a { color: var(--link); text-decoration: none; } nav.crumbs span { color: var(--muted); margin: 0 0.3rem; }
p.summary { color: var(--muted); margin: 0.25rem 0 1rem; font-size: 0.875rem; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 0.5rem 0.5rem; border-bottom: 1px solid var(--line); }
th a { color: var(--muted); text-decoration: none; font-weight: 600; font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.04em; }
td.name a { color: var(--link); text-decoration: none; word-break: break-word; }
tr.dir td.name a { font-weight: 600; }
td.name a::before { content: ""; display: inline-block; width: 1.05em; height: 1.05em; margin-right: 0.5em; vertical-align: -0.15em; background: no-repeat center / contain; }
tr.dir td.name a::before { background-image: url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Cpath fill='%23e0a526' d='M1 3.5A1.5 1.5 0 0 1 2.5 2h3.6l1.6 1.6h5.8A1.5 1.5 0 0 1 15 5.1v7.4a1.5 1.5 0 0 1-1.5 1.5h-11A1.5 1.5 0 0 1 1 12.5z'/%3E%3C/svg%3E"); }
tr.file td.name a::before { background-image: url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Cpath fill='none' stroke='%238b949e' stroke-width='1.2' d='M3.5 1.5h5.5l3.5 3.5v9.5h-9zM9 1.5V5h3.5'/%3E%3C/svg%3E"); }
footer { margin-top: 1.5rem; color: var(--muted); font-size: 0.8rem; }
tbody tr:hover { background: var(--hover); }
td.size, th.size { text-align: right; white-space: nowrap; width: 7rem; }
td.modified, th.modified { white-space: nowrap; width: 11rem; color: var(--muted); }
@media (max-width: 36rem) { th.modified, td.modified { display: none; } td.size, th.size { width: 5rem; } main { padding: 1rem 0.5rem; } }
</style>
</head>
<body>
<main>
<h1><span class="label">Index of</span><nav class="crumbs" aria-label="Breadcrumb">${crumbs}</nav></h1>
<p class="summary">${count}</p>
<table>
<thead><tr>${header('name', 'Name', 'name')}${header('size', 'Size', 'size')}${header('modified', 'Modified (UTC)', 'modified')}</tr></thead>
<tbody>
${up}${rows}
</tbody>
</table>
<footer>Served by Portico</footer>
</main>
</body>
</html>
`;
}

function folderHref(segments: readonly string[]): string {
  return segments.length === 0 ? '/' : `/${segments.map(encodeURIComponent).join('/')}/`;
}

function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
