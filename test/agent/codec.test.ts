// rtnetlink message bodies and helpers. Expected bytes for FDB, neighbour and address writes
// are iproute2 6.1's (strace captures of `bridge fdb add`, `ip neigh add`, `ip addr add`).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AF_BRIDGE, AF_INET, NTF_SELF, NUD_NOARP, NUD_PERMANENT, canonicalCidr, encodeAddrMsg, encodeLinkMsg,
  encodeNeighMsg, parseAddrMsg, parseLinkMsg, parseNeighMsg, toFdbEntry, toNeighEntry,
} from '../../agents/dataplane/codec.js';
import { parseMonitorLine } from '../../agents/dataplane/kernel.js';
import { canonicalIp, ipBytes, ipText, macBytes, nla, nlaString, nlaU32 } from '../../agents/dataplane/nlattr.js';

const hex = (s: string): string => s.replace(/\s+/g, '');

describe('message bodies', () => {
  test('an FDB entry matches `bridge fdb add 02:00:00:00:00:01 dev vx0 dst 198.18.0.2 self permanent`', () => {
    const body = encodeNeighMsg({ family: AF_BRIDGE, ifindex: 2, state: NUD_NOARP | NUD_PERMANENT, flags: NTF_SELF, lladdr: '02:00:00:00:00:01', dst: '198.18.0.2' });
    // ndmsg{AF_BRIDGE, ifindex 2, NUD_NOARP|NUD_PERMANENT, NTF_SELF}, NDA_LLADDR, NDA_DST
    assert.equal(body.toString('hex'), hex('07000000 02000000 c0000200   0a000200 02000000 00010000   08000100 c6120002'));
  });

  test('a neighbour matches `ip neigh add 100.64.0.2 lladdr 02:00:00:00:00:02 dev vx0 nud permanent`', () => {
    const body = encodeNeighMsg({ family: AF_INET, ifindex: 2, state: NUD_PERMANENT, dst: '100.64.0.2', lladdr: '02:00:00:00:00:02' });
    assert.equal(body.toString('hex'), hex('02000000 02000000 80000000   08000100 64400002   0a000200 02000000 00020000'));
  });

  test('an address matches `ip addr add 100.64.0.254/24 dev vx0`; IPv6 addresses skip DAD', () => {
    assert.equal(encodeAddrMsg(2, '100.64.0.254/24').toString('hex'), hex('02180000 02000000 08000200 644000fe 08000100 644000fe'));
    const v6 = encodeAddrMsg(2, '2001:db8::5/64');
    assert.equal(v6[0], 10);
    assert.equal(v6[1], 64);
    assert.equal(v6[2], 0x02, 'IFA_F_NODAD');
  });

  test('a link change sets IFF_UP through the change mask only when asked', () => {
    const up = encodeLinkMsg({ index: 5, up: true, attrs: { mtu: 1450 } });
    assert.equal(up.readInt32LE(4), 5);
    assert.equal(up.readUInt32LE(8), 1);
    assert.equal(up.readUInt32LE(12), 1);
    const noFlags = encodeLinkMsg({ index: 5, attrs: { mtu: 1450 } });
    assert.equal(noFlags.readUInt32LE(12), 0, 'no change mask: flags untouched');
  });
});

describe('dump decoders', () => {
  test('a link message round-trips name, mtu, master, alias, mac and flags', () => {
    const head = Buffer.alloc(16);
    head.writeInt32LE(7, 4);
    head.writeUInt32LE(1, 8);
    const body = Buffer.concat([head, nlaString(3, 'wx4096'), nlaU32(4, 1450), nlaU32(10, 6), nla(20, Buffer.from('weft:t/n')), nla(1, macBytes('02:00:00:00:00:09')), nlaU32(5, 7)]);
    assert.deepEqual(parseLinkMsg(body), { index: 7, name: 'wx4096', mtu: 1450, up: true, master: 6, alias: 'weft:t/n', mac: '02:00:00:00:00:09' });
  });

  test('FDB and neighbour entries decode from what the encoder writes', () => {
    const fdb = toFdbEntry(parseNeighMsg(encodeNeighMsg({ family: AF_BRIDGE, ifindex: 3, state: NUD_PERMANENT, flags: NTF_SELF, lladdr: '02:00:00:00:00:01', dst: '2001:db8::2' })));
    assert.deepEqual(fdb, { ifindex: 3, mac: '02:00:00:00:00:01', self: true, master: false, permanent: true, dst: '2001:db8::2' });
    const n = toNeighEntry(parseNeighMsg(encodeNeighMsg({ family: AF_INET, ifindex: 3, state: 0x02, dst: '100.64.0.9', lladdr: '02:00:00:00:00:09' })));
    assert.deepEqual(n, { ifindex: 3, ip: '100.64.0.9', permanent: false, state: 2, mac: '02:00:00:00:00:09' });
    assert.equal(toNeighEntry(parseNeighMsg(encodeNeighMsg({ family: AF_BRIDGE, ifindex: 3, lladdr: '02:00:00:00:00:01' }))), undefined);
  });

  test('an address message decodes to a canonical CIDR with its scope', () => {
    const body = encodeAddrMsg(4, '2001:DB8:0::5/64');
    body[3] = 0;
    assert.deepEqual(parseAddrMsg(body), { ifindex: 4, cidr: '2001:db8::5/64', family: 6, scope: 0 });
  });
});

describe('addresses', () => {
  test('IPv6 text is canonical (RFC 5952) and round-trips through bytes', () => {
    for (const [input, want] of [['2001:DB8:0:0:0:0:0:1', '2001:db8::1'], ['::', '::'], ['::1', '::1'], ['fe80::1:0:0:1', 'fe80::1:0:0:1'], ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], ['::ffff:198.18.0.1', '::ffff:c612:1']]) {
      assert.equal(canonicalIp(input!), want, input);
      assert.equal(ipText(ipBytes(want!)), want);
    }
  });

  test('CIDRs are canonical and invalid ones are refused', () => {
    assert.equal(canonicalCidr('100.64.0.5/24'), '100.64.0.5/24');
    assert.equal(canonicalCidr('2001:0db8::0005/64'), '2001:db8::5/64');
    assert.equal(canonicalCidr('100.64.0.5'), '100.64.0.5/32');
    assert.throws(() => canonicalCidr('100.64.0.5/33'));
    assert.throws(() => canonicalCidr('100.64.0.5/2x'));
    assert.throws(() => canonicalCidr('nonsense/24'));
  });

  test('MACs are validated', () => {
    assert.throws(() => macBytes('02:00:00:00:00'));
    assert.equal(macBytes('02:AB:00:00:00:01').toString('hex'), '02ab00000001');
  });
});

describe('monitor lines', () => {
  test('link, address and neighbour lines of `ip -o monitor` name their device', () => {
    assert.deepEqual(parseMonitorLine('35: vx0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br0 state UNKNOWN'), { group: 'link', ifname: 'vx0', line: '35: vx0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br0 state UNKNOWN' });
    assert.equal(parseMonitorLine('Deleted 35: wv1@if2: <BROADCAST> mtu 1500').ifname, 'wv1');
    assert.deepEqual(
      [parseMonitorLine('35: vx0    inet 100.64.9.1/24 scope global vx0\\       valid_lft forever').group, parseMonitorLine('35: vx0    inet 100.64.9.1/24 scope global vx0').ifname],
      ['addr', 'vx0'],
    );
    const fdb = parseMonitorLine('02:00:00:00:00:01 dev wx4096 dst 198.18.0.2 self permanent');
    assert.deepEqual([fdb.group, fdb.ifname], ['neigh', 'wx4096']);
    const neigh = parseMonitorLine('Deleted 100.64.0.1 dev wx4096 lladdr 02:00:00:00:00:01 PERMANENT ');
    assert.deepEqual([neigh.group, neigh.ifname], ['neigh', 'wx4096']);
  });

  test('`ip -ts` lines carry when ip read them, in local time, and classify as without the stamp', () => {
    const e = parseMonitorLine('[2026-12-06T16:32:03.263600] [LINK]2: br0x: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN');
    assert.deepEqual(e, { group: 'link', ifname: 'br0x', line: '2: br0x: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN', atMs: new Date(2026, 11, 6, 16, 32, 3, 263).getTime() });
    const route = parseMonitorLine('[2026-12-06T16:32:03.369158] [ROUTE]fe80::/64 dev br0x proto kernel metric 256 pref medium');
    assert.deepEqual([route.group, route.ifname, route.atMs], ['route', 'br0x', new Date(2026, 11, 6, 16, 32, 3, 369).getTime()]);
    assert.equal(parseMonitorLine('[not a time] 02:00:00:00:00:01 dev wx4096').atMs, undefined);
  });
});
