// Which address a receiver on 0.0.0.0 / :: advertises (local-addresses.ts), over a given interface list.
import { describe, expect, it } from 'vitest';
import { interfaceAddresses, pickAdvertiseAddress } from '../../../src/cluster/channel/local-addresses.js';

const host = [
  { address: '127.0.0.1', internal: true },
  { address: '::1', internal: true },
  { address: 'fe80::1c2d:3eff:fe4f:5a6b', internal: false },
  { address: 'fd00::12', internal: false },
  { address: '10.1.2.3', internal: false },
  { address: '172.18.0.5', internal: false },
];

describe('pickAdvertiseAddress', () => {
  it("prefers this host's own address as the DNS answer gives it, whatever the interface order", () => {
    expect(pickAdvertiseAddress('0.0.0.0', ['10.9.9.9', '172.18.0.5', '10.1.2.3'], host)).toBe('172.18.0.5');
    expect(pickAdvertiseAddress('::', ['FD00::12'], host)).toBe('FD00::12');
  });

  it('else the first non-internal IPv4 address, then IPv6 (never link-local); 0.0.0.0 only IPv4', () => {
    expect(pickAdvertiseAddress('0.0.0.0', [], host)).toBe('10.1.2.3');
    expect(pickAdvertiseAddress('::', ['10.9.9.9'], host)).toBe('10.1.2.3');
    const v6only = host.filter((i) => !i.address.includes('.'));
    expect(pickAdvertiseAddress('::', [], v6only)).toBe('fd00::12');
    expect(pickAdvertiseAddress('0.0.0.0', ['fd00::12'], v6only)).toBeUndefined();
    expect(pickAdvertiseAddress('0.0.0.0', [], host.slice(0, 2))).toBeUndefined(); // loopback only
  });

  it('reads the real interfaces (loopback at least)', () => {
    expect(interfaceAddresses().map((i) => i.address)).toContain('127.0.0.1');
  });
});
