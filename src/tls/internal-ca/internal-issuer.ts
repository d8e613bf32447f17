import { PorticoError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { type Check, checkLeaf, checkRoot, type LeafWanted, type ParsedPair } from '../certificate-check.js';
import type { CertificateRequest, Issuer } from '../issuer.js';
import type { StoredPair } from '../keys.js';
import { loadChecked, loadPair, storePair } from '../storage/pair-storage.js';
import type { Storage } from '../storage/storage.js';
import { StorageKeys } from '../storage/storage-keys.js';
import { createRootCa, signLeaf } from './internal-ca.js';

/**
 * Portico's own CA as an Issuer: a root (ECDSA P-256, ten years) kept in storage, created once
 * across processes under its own lock, that signs leaves directly.
 */
export class InternalIssuer implements Issuer {
  private root: ParsedPair | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly log: Logger,
  ) {}

  async load(repair: boolean): Promise<boolean> {
    this.root = await loadChecked(this.storage, StorageKeys.root(), repair, (stored) => checkRoot(stored, Date.now()));
    return this.root !== undefined;
  }

  /** Check → lock → check again → create → store → read back: one root, however many processes start at once. */
  async prepare(): Promise<void> {
    if (await this.load(false)) return;
    const lock = await this.storage.lock(StorageKeys.rootLock());
    try {
      if (await this.load(true)) return;
      this.log.info('creating the internal root CA');
      const root = await createRootCa(Date.now());
      const at = StorageKeys.root();
      await storePair(this.storage, at, root, lock);
      if (!(await this.load(false))) throw new PorticoError('ERR_ISSUANCE_FAILED', `the root CA stored in ${this.storage.describe(at.bundle)} did not validate when read back`);
    } finally {
      await lock.release();
    }
  }

  async issue(request: CertificateRequest): Promise<string> {
    if (!this.root) throw new PorticoError('ERR_ISSUANCE_FAILED', 'the internal CA has no root: prepare() it first');
    return signLeaf(this.root, request.names, request.key, request.validity);
  }

  check(stored: StoredPair, wanted: LeafWanted, now: number): Check<ParsedPair> {
    if (!this.root) return { ok: false, missing: false, culprit: 'pair', problem: 'there is no root CA to check it against' };
    return checkLeaf(stored, this.root.cert, wanted, now);
  }

  /** The root certificate, for `portico ca root`; undefined until loaded. */
  static async readRoot(storage: Storage): Promise<{ pem: string } | { missing: true } | { problem: string; where: string }> {
    const at = StorageKeys.root();
    const stored = await loadPair(storage, at);
    const result = checkRoot(stored, Date.now());
    if (result.ok) return { pem: result.value.certPem };
    return result.missing ? { missing: true } : { problem: result.problem, where: storage.describe(stored.legacy && at.legacy ? at.legacy.cert : at.bundle) };
  }
}
