// Which reverse proxies Parley believes (PARLEY_TRUST_PROXY): none, a hop
// count, or a list of their addresses and networks. Read by config.ts, hence a
// leaf; http/client-ip.ts applies it to a request.

import { BlockList, isIP } from 'node:net';

export type TrustedProxies =
  { kind: 'none' } | { kind: 'hops'; hops: number } | { kind: 'addresses'; addresses: BlockList; text: string };

/** Names for common networks, as a list entry. */
const NAMED_NETWORKS: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** Parses PARLEY_TRUST_PROXY; throws an Error that names the bad entry. */
export function parseTrustedProxies(value: string): TrustedProxies {
  const text = value.trim();
  if (text === '' || text === 'false' || text === '0') return { kind: 'none' };
  if (text === 'true') return { kind: 'hops', hops: 1 };
  if (/^\d+$/.test(text)) return { kind: 'hops', hops: Number(text) };
  const addresses = new BlockList();
  for (const entry of text.split(',').map((part) => part.trim())) {
    for (const network of NAMED_NETWORKS[entry] ?? [entry]) addNetwork(addresses, network);
  }
  return { kind: 'addresses', addresses, text };
}

function addNetwork(list: BlockList, network: string): void {
  const [address = '', prefix] = network.split('/');
  const family = isIP(address);
  const bits = family === 4 ? 32 : 128;
  const length = prefix === undefined ? bits : Number(prefix);
  if (
    family === 0 ||
    !Number.isInteger(length) ||
    length < 0 ||
    length > bits ||
    (prefix !== undefined && !/^\d+$/.test(prefix))
  ) {
    throw new Error(`not an IP address or network: '${network}' (expected e.g. 10.0.0.0/8, ::1, loopback, private)`);
  }
  list.addSubnet(address, length, family === 4 ? 'ipv4' : 'ipv6');
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) as `10.0.0.1`. */
export const unmapped = (address: string): string =>
  address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;

/** Whether `address` is one of the trusted proxies (only the address list says so). */
export function isTrustedProxy(address: string | undefined, trusted: TrustedProxies): boolean {
  if (trusted.kind !== 'addresses' || address === undefined) return false;
  const plain = unmapped(address);
  const family = isIP(plain);
  return family !== 0 && trusted.addresses.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}
