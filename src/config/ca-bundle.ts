import { type ErrorCode, isPorticoError } from '../errors.js';
import { describeReadError, FILE_LIMITS, readNamedFile } from './named-file.js';

/** Extra roots to trust (a proxy's or an ACME directory's `ca`), read from a PEM file; undefined, reported, when it cannot be used. */
export async function readCaBundle(file: string, report: (problem: string, code: ErrorCode) => void): Promise<string | undefined> {
  let pem: string;
  try {
    pem = (await readNamedFile(file, FILE_LIMITS.pem)).toString('utf8');
  } catch (error) {
    report(`${describeReadError(file, error)}; give a PEM file of CA certificates`, isPorticoError(error) ? error.code : 'ERR_CONFIG_INVALID');
    return undefined;
  }
  if (pem.includes('-----BEGIN CERTIFICATE-----')) return pem;
  report(`${file} holds no PEM certificate`, 'ERR_CONFIG_INVALID');
  return undefined;
}
