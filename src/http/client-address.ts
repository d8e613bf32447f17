import { BlockList, isIP } from 'node:net';
import type { Exchange } from './exchange.js';

/**
 * The client's address for the logs: the peer's, unless the peer is a trusted proxy; then the
 * X-Forwarded-For entry nearest to it that is not a trusted proxy itself (entries further left
 * are whatever the client claimed, and prove nothing).
 */
export function clientAddress(exchange: Exchange, trusted: BlockList | undefined): string | undefined {
  const peer = exchange.remoteAddress;
  if (trusted === undefined || peer === undefined || !isTrusted(trusted, peer)) return peer;
  const forwarded = exchange.header('x-forwarded-for');
  if (forwarded === undefined) return peer;
  const hops = forwarded.split(',').map((hop) => hop.trim());
  for (let i = hops.length - 1; i >= 0; i -= 1) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return peer;
    if (!isTrusted(trusted, hop)) return hop;
  }
  return hops[0] ?? peer;
}

/** Whether an address (IPv4-mapped ones too) is in the list. */
export function isTrusted(list: BlockList, address: string): boolean {
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  return list.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4');
}

/** A BlockList of addresses and CIDR ranges (as `trustedProxies` lists them), for matching a peer. */
export function addressList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const type = isIP(address!) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address!, type);
    else list.addSubnet(address!, Number(bits), type);
  }
  return list;
}
