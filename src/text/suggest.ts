/**
 * Words other servers and tools use for what Portico names otherwise: no typo, so edit distance
 * cannot find them (`-p` and `--port`: Portico has two ports; `nginx -t`, `caddy validate`,
 * `caddy fmt`: Portico checks with `check`).
 */
const SYNONYMS: Readonly<Record<string, readonly string[]>> = {
  p: ['http', 'https'],
  port: ['http', 'https'],
  listen: ['http', 'https', 'bind'],
  address: ['bind'],
  validate: ['check'],
  fmt: ['check'],
  lint: ['check'],
  verify: ['check'],
  test: ['check'],
};

/**
 * What the user may have meant by a word Portico does not know: a known word that other tools
 * use it for (`--port`: `http`, `https`), else the closest typo (`suggest`); empty if neither.
 */
export function suggestAll(typed: string, known: readonly string[]): string[] {
  const synonyms = (SYNONYMS[typed.toLowerCase()] ?? []).filter((word) => known.includes(word));
  if (synonyms.length > 0) return synonyms;
  const guess = suggest(typed, known);
  return guess === undefined ? [] : [guess];
}

/**
 * The known word closest to what the user typed, if it is close enough to be a typo
 * (`--brwose` → `--browse`, `serv` → `serve`): at most a third of its letters differ.
 */
export function suggest(typed: string, known: readonly string[]): string | undefined {
  let best: { word: string; distance: number } | undefined;
  for (const word of known) {
    const distance = editDistance(typed.toLowerCase(), word.toLowerCase());
    if (best === undefined || distance < best.distance) best = { word, distance };
  }
  return best && best.distance <= Math.max(1, Math.floor(best.word.length / 3)) ? best.word : undefined;
}

/** Damerau–Levenshtein distance (optimal string alignment): a swap of two letters counts once. */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = rows[i]!;
      row[j] = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
    }
  }
  return rows[a.length]![b.length]!;
}
