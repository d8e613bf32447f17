import { type ErrorCode, isPorticoError } from '../../errors.js';
import { codeOf } from '../../config/problem.js';
import { describeReadError, FILE_LIMITS, readNamedFile } from '../../config/named-file.js';

const BCRYPT = /^\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}$/;

/**
 * An htpasswd file's users and bcrypt hashes (`htpasswd -B`). Other schemes (MD5 `$apr1$`,
 * SHA-1, crypt) are refused: they are fast to brute-force. Blank lines and `#` comments are skipped.
 */
export async function readHtpasswd(file: string, fail: (problem: string, code: ErrorCode) => void): Promise<Record<string, string> | undefined> {
  let text: string;
  try {
    text = (await readNamedFile(file, FILE_LIMITS.htpasswd)).toString('utf8');
  } catch (error) {
    fail(`${describeReadError(file, error)}; ${isPorticoError(error) ? 'give the path of an htpasswd file' : `create it with htpasswd -B -c ${file} USER`}`, codeOf(error, 'ERR_CONFIG_INVALID'));
    return undefined;
  }
  const users: Record<string, string> = {};
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (colon <= 0 || !BCRYPT.test(hash)) {
      fail(`${file} line ${i + 1} is not user:bcrypt-hash; only bcrypt is accepted (make it with htpasswd -B)`, 'ERR_CONFIG_INVALID');
      return undefined;
    }
    users[user] = hash;
  }
  return users;
}
