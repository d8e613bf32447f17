import { describeError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { type ChallengeBoard, storedChallenges } from '../tls/acme/acme-issuer.js';
import type { Storage } from '../tls/storage/storage.js';
import { StorageKeys } from '../tls/storage/storage-keys.js';
import type { PrimaryMessage } from './messages.js';

/**
 * The ACME issuer's challenge board in the primary. Answers (http-01 key authorizations,
 * tls-alpn-01 certificates) go to this primary's workers and into the store, before the CA is
 * told to validate: in a fleet, the CA may ask any instance. A restarted worker is sent them
 * again, and a worker that meets a challenge it has no answer for asks here (`lookUp`).
 */
export class AcmeChallengeRelay implements ChallengeBoard {
  /** http-01 answers, for every worker's plain-HTTP listener. */
  private readonly answers = new Map<string, string>();
  private readonly alpn = new Map<string, { certPem: string; keyPem: string }>();

  constructor(
    private readonly broadcast: (message: PrimaryMessage) => void,
    /** The store, once the certificates opened it. */
    private readonly storage: () => Storage | undefined,
    private readonly log: Logger,
  ) {}

  async addAlpn(name: string, certPem: string, keyPem: string): Promise<void> {
    this.alpn.set(name, { certPem, keyPem });
    this.broadcast({ type: 'acme-alpn', name, certPem, keyPem });
    await this.stored()?.addAlpn(name, certPem, keyPem);
  }

  async removeAlpn(name: string): Promise<void> {
    this.alpn.delete(name);
    this.broadcast({ type: 'acme-alpn', name });
    await this.stored()?.removeAlpn(name);
  }

  async add(token: string, keyAuthorization: string): Promise<void> {
    this.answers.set(token, keyAuthorization);
    this.broadcast({ type: 'acme-challenge', token, keyAuthorization });
    await this.stored()?.add(token, keyAuthorization);
  }

  async remove(token: string): Promise<void> {
    this.answers.delete(token);
    this.broadcast({ type: 'acme-challenge', token });
    await this.stored()?.remove(token);
  }

  /** Every answer in progress, for a worker that starts (or restarts) now. */
  replay(send: (message: PrimaryMessage) => void): void {
    for (const [token, keyAuthorization] of this.answers) send({ type: 'acme-challenge', token, keyAuthorization });
    for (const [name, pair] of this.alpn) send({ type: 'acme-alpn', name, ...pair });
  }

  /** A worker met a challenge it has no answer for: this primary's, else the store's, where another instance may have put it. */
  async lookUp(challenge: 'http-01' | 'tls-alpn-01', key: string): Promise<string | undefined> {
    const valid = challenge === 'http-01' ? /^[A-Za-z0-9_-]{1,256}$/.test(key) : /^[a-z0-9.-]{1,253}$/.test(key);
    if (!valid) return undefined;
    const local = challenge === 'http-01' ? this.answers.get(key) : this.alpn.get(key);
    try {
      return typeof local === 'string' ? local : local ? JSON.stringify(local) : await this.storage()?.load(challenge === 'http-01' ? StorageKeys.httpChallenge(key) : StorageKeys.alpnChallenge(key));
    } catch (error) {
      this.log.warn(`could not look up an ACME ${challenge} challenge in the store: ${describeError(error)}`);
      return undefined;
    }
  }

  private stored(): ChallengeBoard | undefined {
    const storage = this.storage();
    return storage && storedChallenges(storage);
  }
}
