import { readFileSync } from 'node:fs';

/** Portico's version, from its package.json: for --version and the access logs' #Software line. */
export const PORTICO_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
