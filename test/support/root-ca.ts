import { X509Certificate } from 'node:crypto';
import { runPortico } from './portico-process.js';

/** The root CA exactly as a user gets it: `portico ca root --state DIR`. */
export async function fetchRootCa(state: string): Promise<{ pem: string; cert: X509Certificate }> {
  const { code, stdout, stderr } = await runPortico(['ca', 'root', '--state', state]);
  if (code !== 0) throw new Error(`portico ca root failed (${code}): ${stderr}`);
  return { pem: stdout, cert: new X509Certificate(stdout) };
}

/** Whether `leaf` was issued and signed by `root`. */
export function chainsTo(leaf: X509Certificate, root: X509Certificate): boolean {
  return leaf.checkIssued(root) && leaf.verify(root.publicKey);
}
