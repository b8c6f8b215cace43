// IFLA_LINKINFO encoding, byte for byte. The expected bytes are what iproute2 6.1 sends for the
// same options, captured on this platform with
//   strace -s 2000 -x -e trace=sendmsg ip link add NAME type KIND OPTIONS
// (the IFLA_INFO_DATA payload of the RTM_NEWLINK request), so the encoder is checked against
// an independent implementation, not against itself.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeLinkInfo, encodeLinkInfo, IFLA_INFO_DATA, IFLA_INFO_KIND } from '../../agents/dataplane/linkinfo.js';
import { nla, nlaString, parseAttrs, splitAttrs } from '../../agents/dataplane/nlattr.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** The IFLA_LINKINFO payload iproute2 builds: kind (no NUL) then the data. */
const linkinfo = (kind: string, data?: string): Buffer =>
  Buffer.concat([nla(IFLA_INFO_KIND, Buffer.from(kind)), ...(data !== undefined ? [nla(IFLA_INFO_DATA, hex(data))] : [])]);

const infoData = (payload: Buffer): Buffer => parseAttrs(payload).get(IFLA_INFO_DATA) ?? Buffer.alloc(0);
const sortedTlvs = (b: Buffer): string[] => splitAttrs(b).map((x) => x.toString('hex')).sort();

describe('IFLA_LINKINFO encoder', () => {
  test('vxlan with local and underlay matches `ip link add … type vxlan id 100 dstport 4789 local 198.18.0.1 dev u0 nolearning proxy`', () => {
    // dev u0 was ifindex 38 (0x26) in the capture.
    const iproute2 = linkinfo('vxlan', `
      08000300 26000000   05000b00 01000000   08000100 64000000   08000400 c6120001
      05000700 00000000   06000f00 12b50000`);
    const ours = encodeLinkInfo({ kind: 'vxlan', vxlan: { vni: 100, port: 4789, local: '198.18.0.1', link: 38 } });
    assert.equal(ours.toString('hex'), iproute2.toString('hex'));
  });

  test('vxlan without local matches `… id 101 dstport 4789 nolearning proxy`', () => {
    const iproute2 = linkinfo('vxlan', '05000b00 01000000 08000100 65000000 05000700 00000000 06000f00 12b50000');
    assert.equal(encodeLinkInfo({ kind: 'vxlan', vxlan: { vni: 101, port: 4789 } }).toString('hex'), iproute2.toString('hex'));
  });

  test('vxlan over IPv6 with a TTL matches `… id 102 dstport 4789 local 2001:db8::1 nolearning proxy ttl 64`', () => {
    const iproute2 = linkinfo('vxlan', `
      05000b00 01000000   05000500 40000000   08000100 66000000
      14001100 20010db8 00000000 00000000 00000001
      05000700 00000000   06000f00 12b50000`);
    const ours = encodeLinkInfo({ kind: 'vxlan', vxlan: { vni: 102, port: 4789, local: '2001:db8::1', ttl: 64 } });
    assert.equal(ours.toString('hex'), iproute2.toString('hex'));
  });

  test('vxlan with UDP checksums matches `… id 103 dstport 4789 local 198.18.0.1 nolearning proxy udpcsum`', () => {
    const iproute2 = linkinfo('vxlan', '05000b00 01000000 05001200 01000000 08000100 67000000 08000400 c6120001 05000700 00000000 06000f00 12b50000');
    const ours = encodeLinkInfo({ kind: 'vxlan', vxlan: { vni: 103, port: 4789, local: '198.18.0.1', udpCsum: true } });
    assert.equal(ours.toString('hex'), iproute2.toString('hex'));
  });

  test('the vxlan port is a big-endian u16 and learning/proxy are explicit u8 flags', () => {
    const data = parseAttrs(infoData(encodeLinkInfo({ kind: 'vxlan', vxlan: { vni: 1, port: 8472, learning: true, proxy: false } })));
    assert.equal(data.get(15)?.toString('hex'), '2118'); // 8472 = 0x2118
    assert.equal(data.get(7)?.toString('hex'), '01');
    assert.equal(data.get(11)?.toString('hex'), '00');
  });

  test('geneve carries id, remote and port exactly as iproute2 encodes them (`… type geneve id 100 remote 198.18.0.2 dstport 6081`)', () => {
    // iproute2 also sends label, ttl and tos as zero; we send only what creation needs.
    const iproute2 = hex('08000100 64000000 08000200 c6120002 08000b00 00000000 05000300 00000000 05000400 00000000 06000500 17c10000');
    const ours = infoData(encodeLinkInfo({ kind: 'geneve', geneve: { vni: 100, remote: '198.18.0.2', port: 6081 } }));
    assert.equal(ours.toString('hex'), hex('08000100 64000000 08000200 c6120002 06000500 17c10000').toString('hex'));
    const theirs = new Set(sortedTlvs(iproute2));
    for (const tlv of sortedTlvs(ours)) assert.ok(theirs.has(tlv), `iproute2 sends ${tlv} the same way`);
  });

  test('bridge with STP off matches `… type bridge stp_state 0`; vlan filtering is a u8', () => {
    assert.equal(encodeLinkInfo({ kind: 'bridge', bridge: { stpOff: true } }).toString('hex'), linkinfo('bridge', '08000500 00000000').toString('hex'));
    assert.equal(
      encodeLinkInfo({ kind: 'bridge', bridge: { stpOff: true, vlanFiltering: true } }).toString('hex'),
      linkinfo('bridge', '08000500 00000000 05000700 01000000').toString('hex'),
    );
    assert.equal(encodeLinkInfo({ kind: 'bridge' }).toString('hex'), linkinfo('bridge').toString('hex'));
  });

  test('veth peer info matches `… type veth peer name eth0 address 02:00:00:00:00:05 mtu 1400`', () => {
    const iproute2 = linkinfo('veth', `
      34000100 00000000 00000000 00000000 00000000
      0a000100 02000000 00050000   08000400 78050000   09000300 65746830 00000000`);
    const ours = encodeLinkInfo({ kind: 'veth', peer: { name: 'eth0', mac: '02:00:00:00:00:05', mtu: 1400 } });
    assert.equal(ours.toString('hex'), iproute2.toString('hex'));
  });

  test('a veth peer in another namespace carries IFLA_NET_NS_FD like `… peer name eth1 netns NS` (fd 4 in the capture)', () => {
    const iproute2 = linkinfo('veth', '28000100 00000000 00000000 00000000 00000000 08001c00 04000000 09000300 65746831 00000000');
    assert.equal(encodeLinkInfo({ kind: 'veth', peer: { name: 'eth1', netnsFd: 4 } }).toString('hex'), iproute2.toString('hex'));
  });

  test('attributes are 4-byte aligned and their lengths exclude the padding', () => {
    const b = encodeLinkInfo({ kind: 'vxlan', vxlan: { vni: 7, port: 4789 } });
    assert.equal(b.length % 4, 0);
    assert.equal(b.readUInt16LE(0), 4 + 'vxlan'.length);
    assert.equal(nlaString(3, 'wx1').readUInt16LE(0), 4 + 4);
  });
});

describe('IFLA_LINKINFO decoder', () => {
  test('reads back vxlan id, port, local, underlay, learning and proxy from what the encoder made', () => {
    const info = decodeLinkInfo(encodeLinkInfo({ kind: 'vxlan', vxlan: { vni: 4096, port: 4789, local: '198.18.0.1', link: 38 } }));
    assert.deepEqual(info, { kind: 'vxlan', vxlan: { vni: 4096, port: 4789, local: '198.18.0.1', link: 38, learning: false, proxy: true } });
  });

  test('reads an IPv6 local and a TTL', () => {
    const info = decodeLinkInfo(encodeLinkInfo({ kind: 'vxlan', vxlan: { vni: 1, port: 4789, local: '2001:db8::1', ttl: 64, learning: true } }));
    assert.deepEqual(info.vxlan, { vni: 1, port: 4789, local: '2001:db8::1', learning: true, proxy: true, ttl: 64 });
  });

  test('a kernel report with NUL-terminated kind, an all-zero local and a slave kind decodes', () => {
    // What the kernel sends for a bridge-port vxlan with no local: it reports LOCAL as 0.0.0.0
    // and LINK as 0, plus IFLA_INFO_SLAVE_KIND "bridge".
    const data = Buffer.concat([nla(1, hex('00100000')), nla(3, hex('00000000')), nla(4, hex('00000000')), nla(7, hex('00')), nla(11, hex('01')), nla(15, hex('12b5'))]);
    const payload = Buffer.concat([nlaString(IFLA_INFO_KIND, 'vxlan'), nla(IFLA_INFO_DATA, data), nlaString(4, 'bridge')]);
    assert.deepEqual(decodeLinkInfo(payload), { kind: 'vxlan', slaveKind: 'bridge', vxlan: { vni: 4096, port: 4789, learning: false, proxy: true } });
  });

  test('other kinds keep just their name', () => {
    assert.deepEqual(decodeLinkInfo(encodeLinkInfo({ kind: 'bridge', bridge: { stpOff: true } })), { kind: 'bridge' });
    assert.deepEqual(decodeLinkInfo(Buffer.alloc(0)), {});
  });
});
