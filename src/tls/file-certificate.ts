import { createPrivateKey } from 'node:crypto';
import { readPassphrase } from './passphrase.js';
import { FILE_LIMITS, readNamedFile } from '../config/named-file.js';
import { PorticoError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { freezeBundle, type TlsBundle } from './bundle.js';
import { checkPair } from './certificate-check.js';
import { keyTypeOf } from './key-types.js';

export interface FileCertificateOptions {
  readonly id: string;
  readonly hosts: readonly string[];
  readonly certFile: string;
  readonly keyFile: string;
  readonly passphraseFile?: string;
}

/**
 * A site's own certificate, read from the user's PEM files: checked (the key matches, it is in
 * date) and published whole, as the keyring publishes what it issues. Portico never writes
 * these files; it reads them again on reload, or when a worker finds the certificate expired.
 */
export class FileCertificate {
  private current: TlsBundle | undefined;

  constructor(
    private readonly options: FileCertificateOptions,
    private readonly log: Logger,
    private readonly publish: (bundle: TlsBundle) => void,
  ) {}

  get bundle(): TlsBundle | undefined {
    return this.current;
  }

  async start(): Promise<TlsBundle> {
    const bundle = await this.read();
    this.current = bundle;
    this.publish(bundle);
    return bundle;
  }

  renewNow(reason: string): void {
    this.log.warn(`reading ${this.options.certFile} again: ${reason}`);
    this.read().then(
      (bundle) => {
        if (bundle.fingerprint256 === this.current?.fingerprint256) return;
        this.current = bundle;
        this.publish(bundle);
      },
      (error: unknown) => this.log.error(`${error instanceof Error ? error.message : String(error)}; replace the certificate files and reload`),
    );
  }

  /** Own files change only when the user says so (a reload), never behind the server's back. */
  async refresh(): Promise<void> {}

  stop(): void {}

  private async read(): Promise<TlsBundle> {
    const { certFile, keyFile, passphraseFile } = this.options;
    const [certPem, stored] = (await Promise.all([readNamedFile(certFile, FILE_LIMITS.pem), readNamedFile(keyFile, FILE_LIMITS.pem)])).map((bytes) => bytes.toString('utf8')) as [string, string];
    // An encrypted key is decrypted here, in the primary; workers receive it ready to use, as
    // they receive the internal CA's keys.
    const keyPem = passphraseFile === undefined ? stored : (createPrivateKey({ key: stored, passphrase: await readPassphrase(passphraseFile) }).export({ type: 'pkcs8', format: 'pem' }) as string);
    const checked = checkPair({ certPem, keyPem }, Date.now());
    if (!checked.ok) throw new PorticoError('ERR_CERTIFICATE_FILES', checked.missing ? `${certFile} and ${keyFile} are empty` : `${checked.culprit === 'key' ? keyFile : certFile}: ${checked.problem}`);
    const { cert, key } = checked.value;
    const keyType = keyTypeOf(key);
    return freezeBundle({
      id: this.options.id,
      fingerprint256: cert.fingerprint256,
      serialNumber: cert.serialNumber,
      certPem,
      keyPem,
      notBefore: Date.parse(cert.validFrom),
      notAfter: Date.parse(cert.validTo),
      hosts: this.options.hosts,
      keyType: keyType ?? key.asymmetricKeyType ?? 'unknown',
    });
  }
}
