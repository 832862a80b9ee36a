/**
 * This host's own addresses, for a receiver bound to every interface (0.0.0.0 or ::): which address
 * to advertise to peers, and which addresses in a DNS answer are this node itself.
 */
import net from 'node:net';
import os from 'node:os';

export interface InterfaceAddress {
  address: string;
  internal: boolean;
}

/** Every address of every interface (loopback included); [] when the OS will not tell. */
export function interfaceAddresses(): InterfaceAddress[] {
  let table: NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  try {
    table = os.networkInterfaces();
  } catch {
    return [];
  }
  const out: InterfaceAddress[] = [];
  for (const list of Object.values(table)) {
    for (const i of list ?? []) out.push({ address: i.address.toLowerCase(), internal: i.internal });
  }
  return out;
}

/**
 * The address peers should connect to for a receiver bound to `bind` (0.0.0.0 or ::), when none was
 * configured: the first of `preferred` (a DNS answer) that is one of this host's addresses — the one
 * the cluster's name already gives for this node — else the first non-internal IPv4 address, then
 * IPv6 (not link-local, which needs a zone). An IPv4 wildcard socket accepts no IPv6, so 0.0.0.0
 * only ever advertises IPv4. Undefined when the host has no usable address.
 */
export function pickAdvertiseAddress(bind: string, preferred: string[], local = interfaceAddresses()): string | undefined {
  const v4only = bind === '0.0.0.0';
  const usable = (a: string) => (v4only ? net.isIPv4(a) : net.isIP(a) !== 0);
  const mine = new Set(local.map((i) => i.address));
  const fromDns = preferred.find((a) => usable(a) && mine.has(a.toLowerCase()));
  if (fromDns) return fromDns;
  const external = local.filter((i) => !i.internal && usable(i.address));
  return (
    external.find((i) => net.isIPv4(i.address))?.address ??
    external.find((i) => net.isIPv6(i.address) && !i.address.startsWith('fe80:'))?.address
  );
}
