import { createHash } from 'node:crypto';
import { FILE_LIMITS, readNamedFile } from '../../config/named-file.js';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { PorticoError, describeError } from '../../errors.js';
import { isFaultActive } from '../../fault-injection.js';
import type { Logger } from '../../log/logger.js';
import { type Check, checkPair, type LeafWanted, type ParsedPair } from '../certificate-check.js';
import { certificateCovers } from '../certificate-names.js';
import { certificationRequest } from '../internal-ca/internal-ca.js';
import type { CertificateRequest, Issuer } from '../issuer.js';
import type { StoredPair } from '../keys.js';
import { exportPrivateKey, generateKeyPair } from '../keys.js';
import type { Storage } from '../storage/storage.js';
import { leafId, StorageKeys } from '../storage/storage-keys.js';
import type { KeyType } from '../key-types.js';

export interface AcmeOptions {
  readonly directory: string;
  readonly email: string | undefined;
  /** Extra roots to trust for the directory's own HTTPS (a test CA such as Pebble's). */
  readonly caFile: string | undefined;
  readonly challenges: readonly ('http-01' | 'tls-alpn-01')[];
}

/**
 * Where challenge answers go: the primary hands them to every worker. http-01 answers are served
 * by the plain-HTTP listeners; tls-alpn-01 certificates by the TLS listeners, to a client that
 * asks for ALPN acme-tls/1 (RFC 8737).
 */
export interface ChallengeBoard {
  add(token: string, keyAuthorization: string): Promise<void>;
  remove(token: string): Promise<void>;
  addAlpn(name: string, certPem: string, keyPem: string): Promise<void>;
  removeAlpn(name: string): Promise<void>;
}

/**
 * Challenge answers kept in the store, where every instance of a fleet looks for one it was not
 * handed (a worker asks its primary, which reads them here). What `portico cert renew` uses alone,
 * and what the primary's board writes besides telling its own workers.
 */
export function storedChallenges(storage: Storage): ChallengeBoard {
  return {
    add: (token, keyAuthorization) => storage.store(StorageKeys.httpChallenge(token), keyAuthorization),
    remove: (token) => storage.delete(StorageKeys.httpChallenge(token)),
    addAlpn: (name, certPem, keyPem) => storage.store(StorageKeys.alpnChallenge(name), JSON.stringify({ certPem, keyPem }), { private: true }),
    removeAlpn: (name) => storage.delete(StorageKeys.alpnChallenge(name)),
  };
}

type AcmeModule = typeof import('acme-client');

/** Where an ACME certificate is stored: its CA account's id and its hosts', apart from internal leaves. */
export function acmeLeafId(plan: Pick<AcmeOptions, 'directory' | 'email'> & { readonly hosts: readonly string[]; readonly keyType: KeyType }): string {
  return `${AcmeIssuer.accountId(plan)}-${leafId(plan.hosts, plan.keyType)}`;
}

/**
 * An ACME CA as an Issuer (RFC 8555), through acme-client, a maintained client, rather than
 * protocol code of our own. The account key lives in the store, one per directory and email,
 * created once under its own lock. Orders answer http-01 from the plain-HTTP listeners of every
 * worker. acme-client is imported only when a site asks for ACME.
 */
export class AcmeIssuer implements Issuer {
  private client: InstanceType<AcmeModule['Client']> | undefined;
  private acme: AcmeModule | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly options: AcmeOptions,
    private readonly board: ChallengeBoard,
    private readonly log: Logger,
  ) {}

  /** The storage id prefix of this directory and account: certificates from another CA never mix with these. */
  static accountId(options: Pick<AcmeOptions, 'directory' | 'email'>): string {
    return `acme-${createHash('sha256').update(`${options.directory}\0${options.email ?? ''}`).digest('hex').slice(0, 12)}`;
  }

  async load(): Promise<boolean> {
    return true;
  }

  async prepare(): Promise<void> {
    if (this.client) return;
    this.acme ??= (await import('acme-client')).default as unknown as AcmeModule;
    const extra = this.options.caFile ? (await readNamedFile(this.options.caFile, FILE_LIMITS.pem)).toString('utf8') : undefined;
    if (extra) this.acme.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, extra] });
    const id = AcmeIssuer.accountId(this.options);
    const keyName = `acme/${id}/account.key`;
    let accountKey = await this.storage.load(keyName);
    if (accountKey === undefined) {
      const lock = await this.storage.lock(`${id}-account`);
      try {
        accountKey = await this.storage.load(keyName);
        if (accountKey === undefined) {
          accountKey = exportPrivateKey(await generateKeyPair('ec-p256'));
          await lock.assertHeld();
          await this.storage.store(keyName, accountKey, { private: true });
        }
      } finally {
        await lock.release();
      }
    }
    this.client = new this.acme.Client({ directoryUrl: this.options.directory, accountKey });
  }

  async issue(request: CertificateRequest): Promise<string> {
    if (!this.client) throw new PorticoError('ERR_ISSUANCE_FAILED', 'the ACME issuer was not prepared');
    const csr = certificationRequest(request.names, request.key);
    this.log.info(`ordering a certificate for ${request.names.join(', ')} from ${this.options.directory}`);
    let chain: string;
    try {
      chain = await this.client.auto({
        csr,
        ...(this.options.email ? { email: this.options.email } : {}),
        termsOfServiceAgreed: true,
        // The CA checks the answer itself; a check from here would need this machine to resolve and reach itself by name.
        skipChallengeVerification: true,
        challengePriority: [...this.options.challenges],
        challengeCreateFn: async (authz, challenge, keyAuthorization) => {
          if (isFaultActive('slow-acme-challenge')) {
            await new Promise<void>((resolve) => {
              const go = (): void => {
                clearTimeout(timer);
                process.off('SIGUSR2', go);
                resolve();
              };
              const timer = setTimeout(go, 20_000);
              process.on('SIGUSR2', go);
              this.log.info(`(test fault) waiting up to 20 s (SIGUSR2 ends the wait) before answering the challenge for ${authz.identifier.value}`);
            });
          }
          if ((challenge.type as string) !== 'tls-alpn-01') return this.board.add(challenge.token, keyAuthorization);
          const keyPem = exportPrivateKey(await generateKeyPair('ec-p256'));
          const [, certPem] = await this.acme!.crypto.createAlpnCertificate(authz, keyAuthorization, keyPem);
          this.board.addAlpn(authz.identifier.value, certPem.toString(), keyPem);
        },
        challengeRemoveFn: async (authz, challenge) => ((challenge.type as string) === 'tls-alpn-01' ? this.board.removeAlpn(authz.identifier.value) : this.board.remove(challenge.token)),
      });
    } catch (error) {
      // The CA's problem document (RFC 8555 §6.7) is what a person needs to read.
      throw new PorticoError('ERR_ISSUANCE_FAILED', `the ACME CA at ${this.options.directory} refused the order for ${request.names.join(', ')}: ${describeError(error)}`, { cause: error });
    }
    if (isFaultActive('stop-after-acme-order')) {
      this.log.info(`(test fault) issued for ${request.names.join(', ')}; stopping this process before storing it`);
      process.kill(process.pid, 'SIGSTOP');
    }
    return chain;
  }

  check(stored: StoredPair, wanted: LeafWanted, now: number): Check<ParsedPair> {
    const pair = checkPair(stored, now);
    if (!pair.ok) return pair;
    const uncovered = wanted.hosts.find((host) => !certificateCovers(pair.value.cert, host));
    return uncovered === undefined ? pair : { ok: false, missing: false, culprit: 'pair', problem: `the certificate does not cover ${uncovered}` };
  }
}

