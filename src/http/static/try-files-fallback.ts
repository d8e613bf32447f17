/** The route a tryFiles list ends in (`@app` → `app`): it takes what no file answers, and every method files do not serve. */
export function fallbackRoute(candidates: readonly string[] | undefined): string | undefined {
  const last = candidates?.at(-1);
  return last?.startsWith('@') ? last.slice(1) : undefined;
}

/** Whether files answer this method at all (GET and HEAD; anything else is a tryFiles fallback's). */
export function servesFiles(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}
