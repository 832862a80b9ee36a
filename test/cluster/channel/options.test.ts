// Options (options.ts): Tomcat's defaults, and bad input refused at createChannel with a message
// that names the option.
import { describe, expect, it } from 'vitest';
import { CHANNEL_DEFAULTS, ChannelConfigError, createChannel, type ChannelOptions } from '../../../src/cluster/channel/index.js';
import { isLoopback, parseHostPort, resolveChannelOptions } from '../../../src/cluster/channel/options.js';

const base: ChannelOptions = {
  jvmRoute: 'jvm_a',
  receiver: { address: '127.0.0.1', port: 4000 },
  membership: { type: 'static', members: ['127.0.0.1:4001'] },
};

describe('defaults', () => {
  it("are Tomcat's (McastService, TcpFailureDetector, sender)", () => {
    const r = resolveChannelOptions({ ...base, membership: { type: 'multicast' }, secret: 's' });
    expect(r.membership).toEqual({
      type: 'multicast',
      address: '228.0.0.4',
      port: 45564,
      frequency: 500,
      dropTime: 3000,
      ttl: undefined,
      bind: undefined,
    });
    expect(r.connectTimeout).toBe(1000);
    expect(r.senderTimeout).toBe(3000);
    expect(r.receiver.maxFrameSize).toBe(16 * 1024 * 1024);
    expect(r.domain).toBe('');
    expect(resolveChannelOptions(base).secret).toBeNull();
    expect(CHANNEL_DEFAULTS.maxQueueBytes).toBe(r.maxQueueBytes);
  });

  it('DNS membership: A/AAAA with a port, SRV without; interval in ms or as a duration; servers with port 53 by default', () => {
    const dns = (m: object) => resolveChannelOptions({ ...base, membership: { type: 'dns', ...m } as never, secret: 's' }).membership;
    expect(dns({ name: 'app-headless.default.svc.cluster.local.', port: 4000 })).toEqual({
      type: 'dns',
      name: 'app-headless.default.svc.cluster.local',
      port: 4000,
      interval: 5000,
      servers: undefined,
      timeout: 2000,
      tries: 2,
      frequency: 500,
      dropTime: 3000,
    });
    expect(dns({ name: '_cluster._tcp.app.example' })).toMatchObject({ name: '_cluster._tcp.app.example', port: undefined });
    expect(dns({ name: 'app', interval: '5s' })).toMatchObject({ interval: 5000 });
    expect(dns({ name: 'app', interval: '250ms' })).toMatchObject({ interval: 250 });
    expect(dns({ name: 'app', interval: 1500 })).toMatchObject({ interval: 1500 });
    expect(dns({ name: 'app', servers: ['10.96.0.10', '127.0.0.1:5353', '[::1]:5353', 'fd00::53'] })).toMatchObject({
      servers: ['10.96.0.10:53', '127.0.0.1:5353', '[::1]:5353', '[fd00::53]:53'],
    });
  });

  it('parses static member lists, IPv6 included', () => {
    const r = resolveChannelOptions({ ...base, membership: { type: 'static', members: ['10.0.0.2:4000', '[::1]:4001'] }, secret: 's' });
    expect(r.membership.type === 'static' && r.membership.members).toEqual([
      { host: '10.0.0.2', port: 4000 },
      { host: '::1', port: 4001 },
    ]);
  });
});

describe('refused configurations', () => {
  it('requires a secret when the receiver binds beyond loopback', () => {
    expect(() => createChannel({ ...base, receiver: { address: '10.1.2.3', port: 4000 } })).toThrow(
      'secret is required: receiver.address "10.1.2.3" reaches beyond this host',
    );
    expect(() => createChannel({ ...base, receiver: { address: '10.1.2.3', port: 4000 }, secret: 'x' })).not.toThrow();
    for (const a of ['127.0.0.1', '127.3.4.5', '::1', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(a)).toBe(true);
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '192.168.0.1', 'example.org']) expect(isLoopback(a)).toBe(false);
  });

  it('requires a secret for multicast membership, even with a loopback receiver (a forged heartbeat would make a member)', () => {
    const attempt = (secret?: string) => () => createChannel({ ...base, membership: { type: 'multicast', ttl: 0 }, ...(secret ? { secret } : {}) });
    expect(attempt()).toThrow(ChannelConfigError);
    expect(attempt()).toThrow("secret is required: membership.type 'multicast' reaches beyond this host");
    expect(attempt('s')).not.toThrow();
  });

  it('requires a secret for DNS membership, even when the name resolves to loopback (DNS can name any host)', () => {
    const attempt = (secret?: string) => () =>
      createChannel({ ...base, membership: { type: 'dns', name: 'app.test', port: 4000 }, ...(secret ? { secret } : {}) });
    expect(attempt()).toThrow(ChannelConfigError);
    expect(attempt()).toThrow("secret is required: membership.type 'dns' (DNS can name any host) reaches beyond this host");
    expect(attempt('s')).not.toThrow();
  });

  it('allows a receiver on every interface (0.0.0.0 or ::) with a secret, advertising a given or a found address', () => {
    const wild = (address: string, advertise?: string) =>
      resolveChannelOptions({ ...base, receiver: { address, port: 4000, ...(advertise ? { advertise } : {}) }, secret: 's' }).receiver;
    expect(wild('0.0.0.0')).toEqual({ address: '0.0.0.0', port: 4000, advertise: undefined, maxFrameSize: 16 * 1024 * 1024 });
    expect(wild('::', 'fd00::7').advertise).toBe('fd00::7');
    expect(wild('0.0.0.0', '10.1.2.3').advertise).toBe('10.1.2.3');
    // A concrete address is what peers connect to.
    expect(resolveChannelOptions(base).receiver.advertise).toBe('127.0.0.1');
  });

  it('requires a secret for a static member that is not a loopback address, naming the entry', () => {
    const members = (list: string[], secret?: string) => () =>
      createChannel({ ...base, membership: { type: 'static', members: list }, ...(secret ? { secret } : {}) });
    expect(members(['127.0.0.1:4001', '10.0.0.7:4000'])).toThrow('secret is required: membership.members[1] "10.0.0.7:4000"');
    expect(members(['node-b:4000'])).toThrow(/membership\.members\[0\] "node-b:4000".*secret/s);
    expect(members(['[fd00::1]:4000'])).toThrow(/membership\.members\[0\] "\[fd00::1\]:4000"/);
    expect(members(['10.0.0.7:4000'], 's')).not.toThrow();
    // Loopback lists need none.
    expect(members(['127.0.0.1:4001', 'localhost:4002', '[::1]:4003'])).not.toThrow();
  });

  it.each<[string, Partial<ChannelOptions>, RegExp]>([
    ['empty jvmRoute', { jvmRoute: '' }, /jvmRoute/],
    ['route with a space', { jvmRoute: 'a b' }, /jvmRoute/],
    ['wildcard receiver without a secret', { receiver: { address: '0.0.0.0', port: 4000 } }, /secret is required: receiver\.address "0\.0\.0\.0" listens on every interface/],
    ['advertise that is not an IP', { receiver: { address: '0.0.0.0', port: 4000, advertise: 'node-a' }, secret: 'x' }, /receiver\.advertise must be the IP address/],
    ['advertise with a concrete bind', { receiver: { address: '127.0.0.1', port: 4000, advertise: '127.0.0.2' } }, /receiver\.advertise is only for a receiver bound to 0\.0\.0\.0/],
    ['bad port', { receiver: { address: '127.0.0.1', port: 70000 } }, /receiver\.port/],
    ['tiny frame limit', { receiver: { address: '127.0.0.1', port: 1, maxFrameSize: 10 } }, /maxFrameSize/],
    ['bad member entry', { membership: { type: 'static', members: ['nohost'] } }, /members\[0\].*host:port/],
    ['dropTime below frequency', { membership: { type: 'static', members: [], frequency: 500, dropTime: 400 } }, /dropTime/],
    ['non-multicast group', { membership: { type: 'multicast', address: '10.0.0.1' } }, /multicast address/],
    ['bad ttl', { membership: { type: 'multicast', ttl: 300 } }, /ttl/],
    ['unknown membership type', { membership: { type: 'kubernetes' } as never }, /membership\.type must be 'static', 'multicast' or 'dns'/],
    ['dns without a name', { membership: { type: 'dns' } as never, secret: 'x' }, /membership\.name must be a DNS name/],
    ['dns name that is an address', { membership: { type: 'dns', name: '10.0.0.1', port: 4000 }, secret: 'x' }, /membership\.name/],
    ['dns name with a space', { membership: { type: 'dns', name: 'app svc', port: 4000 }, secret: 'x' }, /membership\.name/],
    ['dns interval without a unit', { membership: { type: 'dns', name: 'app', interval: '5' }, secret: 'x' }, /membership\.interval: give a unit/],
    ['dns interval of 0', { membership: { type: 'dns', name: 'app', interval: '0s' }, secret: 'x' }, /membership\.interval must be positive/],
    ['dns bad port', { membership: { type: 'dns', name: 'app', port: 0 }, secret: 'x' }, /membership\.port/],
    ['dns server by name', { membership: { type: 'dns', name: 'app', servers: ['ns1:53'] }, secret: 'x' }, /membership\.servers\[0\] must be an IP address/],
    ['dns empty server list', { membership: { type: 'dns', name: 'app', servers: [] }, secret: 'x' }, /membership\.servers must be a non-empty array/],
    ['dns bad tries', { membership: { type: 'dns', name: 'app', tries: 0 }, secret: 'x' }, /membership\.tries/],
    ['empty secret', { secret: '' }, /secret/],
    ['negative timeout', { sender: { timeout: -1 } }, /sender\.timeout/],
  ])('%s', (_name, patch, message) => {
    const attempt = () => createChannel({ ...base, ...patch } as ChannelOptions);
    expect(attempt).toThrow(ChannelConfigError);
    expect(attempt).toThrow(message);
  });

  it('parseHostPort names the bad entry', () => {
    expect(() => parseHostPort('a:b', 'membership.members[2]')).toThrow(/membership\.members\[2\]/);
    expect(parseHostPort('node-b.local:4000', 'x')).toEqual({ host: 'node-b.local', port: 4000 });
  });
});
