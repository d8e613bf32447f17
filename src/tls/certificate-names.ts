import type { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';

/** The DNS names (lower-cased) and IP addresses a certificate's subjectAltName lists. */
export function certificateNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '').split(/,\s*/).flatMap((entry) => (entry.startsWith('DNS:') ? [entry.slice(4).toLowerCase()] : entry.startsWith('IP Address:') ? [entry.slice(11)] : []));
}

/**
 * Whether a certificate covers a site's host: an IP address by its iPAddress entry, a name by
 * DNS matching (a certificate wildcard covers one label), and a site's own `*.name` only by the
 * same wildcard in the certificate.
 */
export function certificateCovers(cert: X509Certificate, host: string): boolean {
  if (isIP(host) !== 0) return cert.checkIP(host) !== undefined;
  if (host.startsWith('*.')) return certificateNames(cert).includes(host);
  return cert.checkHost(host, { subject: 'never' }) !== undefined;
}
