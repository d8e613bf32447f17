import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { AuthRule } from '../../config/plan.js';
import type { Exchange } from '../../http/exchange.js';
import { bytesResponse, type Response } from '../../http/response.js';
import type { FailureLimit } from '../../limits/failure-limit.js';

/**
 * A hash to compare against for an unknown user, so that case costs what a wrong password costs.
 * Made on first need, off the loop: made at import, it cost every worker 60 ms of start-up,
 * whether a site asked for a password or not.
 */
let unknownUserHash: Promise<string> | undefined;
const MAX_REMEMBERED = 1_000;

/**
 * HTTP Basic authentication (RFC 7617) for one rule: bcrypt hashes from an htpasswd file,
 * compared with bcryptjs off the request's synchronous path. A verified (user, password) pair is
 * remembered by a digest, so a browser that sends the header with every request pays bcrypt
 * once, not per request. Failures are counted per client address across workers (FailureLimit);
 * past the limit an address is refused without a check. Passwords are never logged or kept.
 */
export class BasicAuth {
  private readonly verified = new Set<string>();

  constructor(
    private readonly rule: AuthRule,
    private readonly limit: FailureLimit,
  ) {}

  /** The user name when the request proves it, or the response that refuses it. */
  async check(exchange: Exchange): Promise<{ user: string } | { response: Response }> {
    const address = exchange.remoteAddress ?? '';
    const now = Date.now();
    const until = this.limit.blockedUntil(address, now);
    if (until !== undefined) {
      return { response: bytesResponse(429, { 'retry-after': String(Math.ceil((until - now) / 1000)), 'content-type': 'text/plain; charset=utf-8' }, exchange.method === 'HEAD' ? undefined : 'Too many failed sign-ins from this address; try again in a minute.\n') };
    }
    const credentials = parseBasic(exchange.header('authorization'));
    if (credentials !== undefined) {
      const known = this.rule.users[credentials.user];
      const key = createHash('sha256').update(`${credentials.user}\0${credentials.password}\0${known ?? ''}`).digest('base64');
      if (known !== undefined && this.verified.has(key)) return { user: credentials.user };
      const ok = await bcrypt.compare(credentials.password, known ?? (await (unknownUserHash ??= bcrypt.hash('portico: no such user', 10))));
      if (ok && known !== undefined) {
        if (this.verified.size >= MAX_REMEMBERED) this.verified.clear();
        this.verified.add(key);
        return { user: credentials.user };
      }
      this.limit.recordFailure(address, Date.now());
    }
    return { response: this.challenge(exchange) };
  }

  private challenge(exchange: Exchange): Response {
    return bytesResponse(401, { 'www-authenticate': `Basic realm="${this.rule.realm}", charset="UTF-8"`, 'content-type': 'text/plain; charset=utf-8' }, exchange.method === 'HEAD' ? undefined : 'Sign-in required.\n');
  }
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const match = header === undefined ? null : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
