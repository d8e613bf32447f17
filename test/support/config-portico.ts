import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PorticoProcess } from './portico-process.js';
import { fetchRootCa } from './root-ca.js';
import type { Sandbox } from './sandbox.js';

export interface ServingConfig {
  readonly portico: PorticoProcess;
  readonly httpPort: number;
  readonly httpsPort: number;
  /** The internal root CA's PEM, for clients of the HTTPS port. */
  readonly rootCa: string;
}

/** The top of a config that serves one worker on loopback, on ports the system picks. */
export function loopbackTop(box: Sandbox): string[] {
  return ['http: 0', 'https: 0', 'bind: 127.0.0.1', 'workers: 1', `state: ${box.state}`];
}

/** Writes `lines` as the sandbox's portico.yaml and serves it; resolves once it is ready, with its ports and root CA. */
export async function serveConfig(box: Sandbox, lines: readonly string[]): Promise<ServingConfig> {
  await writeFile(join(box.dir, 'portico.yaml'), [...lines, ''].join('\n'));
  const portico = PorticoProcess.serve(['--config', join(box.dir, 'portico.yaml')]);
  await portico.waitFor(/^ready: /m);
  const [httpPort, httpsPort] = await Promise.all([portico.port('http'), portico.port('https')]);
  return { portico, httpPort, httpsPort, rootCa: (await fetchRootCa(box.state)).pem };
}
