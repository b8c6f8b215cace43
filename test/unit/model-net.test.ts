// Address arithmetic in src/model/net.ts: parsing, canonical forms, prefixes, usable ranges, MACs,
// and which prefixes and addresses intent may use at all.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressUseProblem,
  canonicalIp,
  canonicalMac,
  formatAddress,
  formatCidr,
  hostAddressProblem,
  parseCidr,
  parseIp,
  prefixContains,
  prefixesOverlap,
  prefixSize,
  prefixUseProblem,
  specialRanges,
  usableRange,
  type Family,
  type Prefix,
} from '../../src/model/index.js';
import { AddressRng, nonHostAddressOf, unusableAddress, unusablePrefix, usableAddressOf, usablePrefix } from '../support/address-cases.js';

function prefix(text: string): Prefix {
  const p = parseCidr(text);
  assert.equal(typeof p, 'object', `${text} should parse`);
  return p as Prefix;
}

function ip(text: string): bigint {
  const p = parseIp(text);
  assert.ok(p, `${text} should parse`);
  return p.value;
}

describe('parseIp and canonicalIp', () => {
  test('an IPv4 address parses to family 4 and its 32-bit value', () => {
    assert.deepEqual(parseIp('10.1.2.3'), { family: 4, value: 0x0a010203n });
    assert.deepEqual(parseIp('0.0.0.0'), { family: 4, value: 0n });
    assert.deepEqual(parseIp('255.255.255.255'), { family: 4, value: 0xffffffffn });
  });

  test('an IPv6 address parses to family 6 and its 128-bit value', () => {
    assert.deepEqual(parseIp('::'), { family: 6, value: 0n });
    assert.deepEqual(parseIp('::1'), { family: 6, value: 1n });
    assert.deepEqual(parseIp('2001:db8::1'), { family: 6, value: (0x20010db8n << 96n) | 1n });
    assert.deepEqual(parseIp('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), { family: 6, value: (1n << 128n) - 1n });
  });

  test('IPv6 addresses are canonicalised to the RFC 5952 form', () => {
    assert.equal(canonicalIp('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
    assert.equal(canonicalIp('FD00::A'), 'fd00::a');
    assert.equal(canonicalIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  });

  test('an IPv4 address is its own canonical form', () => {
    assert.equal(canonicalIp('192.168.0.1'), '192.168.0.1');
  });

  for (const bad of [
    '',
    '1.2.3',
    '1.2.3.4.',
    '1.2.3.4.5',
    '256.1.1.1',
    '1.2.3.-1',
    '1.2.3.4/32',
    '2001:db8::/64',
    '2001:db8::1::2',
    '1:2:3:4:5:6:7:8:9',
    ':::',
    'fe80::1%eth0',
    ' 10.0.0.1',
    '10.0.0.1 ',
    'example.com',
    'g::1',
  ]) {
    test(`"${bad}" is not an address`, () => {
      assert.equal(parseIp(bad), undefined);
      assert.equal(canonicalIp(bad), undefined);
    });
  }

  test('formatAddress is the inverse of parseIp for both families', () => {
    for (const text of ['10.0.0.1', '0.0.0.0', '2001:db8::1', '::', 'fd00::ffff:0:1']) {
      const p = parseIp(text)!;
      assert.equal(formatAddress(p.family, p.value), text);
    }
  });
});

describe('parseCidr', () => {
  test('an IPv4 CIDR parses to family, base and length', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), { family: 4, base: 0x0a000000n, length: 8 });
    assert.deepEqual(parseCidr('0.0.0.0/0'), { family: 4, base: 0n, length: 0 });
    assert.deepEqual(parseCidr('10.0.0.7/32'), { family: 4, base: 0x0a000007n, length: 32 });
  });

  test('an IPv6 CIDR parses to family, base and length', () => {
    assert.deepEqual(parseCidr('2001:db8::/32'), { family: 6, base: 0x20010db8n << 96n, length: 32 });
    assert.deepEqual(parseCidr('::/0'), { family: 6, base: 0n, length: 0 });
    assert.deepEqual(parseCidr('::1/128'), { family: 6, base: 1n, length: 128 });
  });

  test('a CIDR with host bits set is its own problem, not "invalid"', () => {
    assert.equal(parseCidr('10.0.0.1/24'), 'host-bits');
    assert.equal(parseCidr('11.0.0.0/7'), 'host-bits');
    assert.equal(parseCidr('2001:db8::1/64'), 'host-bits');
    assert.equal(parseCidr('::1/127'), 'host-bits');
  });

  for (const bad of ['10.0.0.0', '10.0.0.0/', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/8/8', '10.0.0.0/ 8', '10.0.0.0/1000', '::/129', 'fe80::%eth0/64', 'x/24', '/24', '10.0.0.0/a']) {
    test(`"${bad}" is an invalid CIDR`, () => {
      assert.equal(parseCidr(bad), 'invalid');
    });
  }

  test('formatCidr writes the canonical form of both families', () => {
    assert.equal(formatCidr(prefix('10.0.0.0/24')), '10.0.0.0/24');
    assert.equal(formatCidr(prefix('2001:0DB8:0:0::/64')), '2001:db8::/64');
    assert.equal(formatCidr(prefix('::/0')), '::/0');
  });
});

describe('prefix arithmetic, the same for both families', () => {
  const families: { family: Family; net: string; inside: string[]; outside: string[]; size: bigint }[] = [
    { family: 4, net: '10.1.0.0/16', inside: ['10.1.0.0', '10.1.255.255', '10.1.2.3'], outside: ['10.0.255.255', '10.2.0.0'], size: 65536n },
    { family: 6, net: '2001:db8:1::/48', inside: ['2001:db8:1::', '2001:db8:1:ffff:ffff:ffff:ffff:ffff', '2001:db8:1::5'], outside: ['2001:db8:0:ffff::', '2001:db8:2::'], size: 1n << 80n },
  ];

  for (const f of families) {
    test(`an IPv${f.family} prefix contains exactly the addresses from its base to its last address`, () => {
      const p = prefix(f.net);
      for (const a of f.inside) assert.equal(prefixContains(p, f.family, ip(a)), true, `${a} in ${f.net}`);
      for (const a of f.outside) assert.equal(prefixContains(p, f.family, ip(a)), false, `${a} not in ${f.net}`);
    });

    test(`an IPv${f.family} prefix never contains an address of the other family with the same value`, () => {
      const p = prefix(f.net);
      const other: Family = f.family === 4 ? 6 : 4;
      assert.equal(prefixContains(p, f.family, p.base), true);
      assert.equal(prefixContains(p, other, p.base), false);
    });

    test(`the size of an IPv${f.family} prefix is 2^(width - length)`, () => {
      assert.equal(prefixSize(prefix(f.net)), f.size);
    });
  }

  test('a /0 spans the whole family', () => {
    assert.equal(prefixSize(prefix('0.0.0.0/0')), 1n << 32n);
    assert.equal(prefixSize(prefix('::/0')), 1n << 128n);
    assert.equal(prefixContains(prefix('0.0.0.0/0'), 4, ip('255.255.255.255')), true);
  });

  test('a prefix overlaps one nested inside it, in both directions', () => {
    assert.equal(prefixesOverlap(prefix('10.0.0.0/16'), prefix('10.0.1.0/24')), true);
    assert.equal(prefixesOverlap(prefix('10.0.1.0/24'), prefix('10.0.0.0/16')), true);
    assert.equal(prefixesOverlap(prefix('fd00::/8'), prefix('fd00:1::/64')), true);
    assert.equal(prefixesOverlap(prefix('fd00:1::/64'), prefix('fd00::/8')), true);
  });

  test('a prefix overlaps itself', () => {
    assert.equal(prefixesOverlap(prefix('10.0.0.0/24'), prefix('10.0.0.0/24')), true);
    assert.equal(prefixesOverlap(prefix('2001:db8::/64'), prefix('2001:db8::/64')), true);
  });

  test('adjacent prefixes do not overlap', () => {
    assert.equal(prefixesOverlap(prefix('10.0.0.0/25'), prefix('10.0.0.128/25')), false);
    assert.equal(prefixesOverlap(prefix('10.0.0.0/24'), prefix('10.0.1.0/24')), false);
    assert.equal(prefixesOverlap(prefix('2001:db8::/64'), prefix('2001:db8:0:1::/64')), false);
  });

  test('prefixes of different families never overlap, even with equal bits', () => {
    assert.equal(prefixesOverlap(prefix('0.0.0.0/0'), prefix('::/0')), false);
    assert.equal(prefixesOverlap(prefix('::/0'), prefix('0.0.0.0/0')), false);
  });
});

describe('usableRange', () => {
  const range = (text: string) => {
    const r = usableRange(prefix(text));
    assert.ok(r);
    const family = prefix(text).family;
    return { first: formatAddress(family, r.first), last: formatAddress(family, r.last) };
  };

  test('an IPv4 subnet leaves out its network and broadcast addresses', () => {
    assert.deepEqual(range('10.0.0.0/24'), { first: '10.0.0.1', last: '10.0.0.254' });
    assert.deepEqual(range('10.0.0.0/30'), { first: '10.0.0.1', last: '10.0.0.2' });
    assert.deepEqual(range('10.0.0.0/29'), { first: '10.0.0.1', last: '10.0.0.6' });
  });

  test('an IPv4 /31 (point-to-point) uses both addresses', () => {
    assert.deepEqual(range('10.0.0.2/31'), { first: '10.0.0.2', last: '10.0.0.3' });
  });

  test('an IPv4 /32 is its one address', () => {
    assert.deepEqual(range('10.0.0.9/32'), { first: '10.0.0.9', last: '10.0.0.9' });
  });

  test('an IPv6 subnet leaves out only the subnet-router anycast address', () => {
    assert.deepEqual(range('2001:db8::/64'), { first: '2001:db8::1', last: '2001:db8::ffff:ffff:ffff:ffff' });
    assert.deepEqual(range('fd00::/126'), { first: 'fd00::1', last: 'fd00::3' });
  });

  test('an IPv6 /128 is its one address', () => {
    assert.deepEqual(range('fd00::7/128'), { first: 'fd00::7', last: 'fd00::7' });
  });
});

describe('canonicalMac', () => {
  test('a unicast MAC is lower-cased in colon form', () => {
    assert.equal(canonicalMac('02:AB:cd:00:11:22'), '02:ab:cd:00:11:22');
  });

  test('a dash-separated MAC is accepted and written with colons', () => {
    assert.equal(canonicalMac('02-00-5E-10-00-01'), '02:00:5e:10:00:01');
  });

  test('a multicast MAC (low bit of the first octet set) is rejected', () => {
    assert.equal(canonicalMac('01:00:5e:00:00:01'), undefined);
    assert.equal(canonicalMac('33:33:00:00:00:01'), undefined);
  });

  test('the broadcast and all-zero MACs are rejected', () => {
    assert.equal(canonicalMac('ff:ff:ff:ff:ff:ff'), undefined);
    assert.equal(canonicalMac('00:00:00:00:00:00'), undefined);
  });

  for (const bad of ['', '02:00:00:00:00', '02:00:00:00:00:00:00', '0200.0000.0001', '020000000001', '02:00:00:00:00:0g', '2:0:0:0:0:1', ' 02:00:00:00:00:01']) {
    test(`"${bad}" is not a MAC`, () => {
      assert.equal(canonicalMac(bad), undefined);
    });
  }
});

describe('what intent may use: special ranges, generated over both families', () => {
  const CASES = 400;

  test('a prefix inside or over a special range, or /0, is refused and names what it overlaps', () => {
    const rng = new AddressRng(1001);
    for (let i = 0; i < CASES; i++) {
      const bad = unusablePrefix(rng);
      const problem = prefixUseProblem(prefix(bad.cidr));
      assert.ok(problem, `${bad.cidr} should be refused`);
      assert.match(problem, bad.mentions === 'every address' ? /every address/ : /overlaps the .* range/, bad.cidr);
    }
  });

  test('the special ranges themselves are refused, each by its own name', () => {
    for (const family of [4, 6] as const) {
      for (const s of specialRanges(family)) assert.match(prefixUseProblem(s.prefix) ?? '', /overlaps the .* range/, formatCidr(s.prefix));
    }
    assert.match(prefixUseProblem(prefix('224.1.0.0/16'))!, /multicast range 224\.0\.0\.0\/4/);
    assert.match(prefixUseProblem(prefix('127.0.0.0/8'))!, /loopback/);
    assert.match(prefixUseProblem(prefix('0.0.0.0/8'))!, /"this network"/);
    assert.match(prefixUseProblem(prefix('255.255.255.255/32'))!, /limited broadcast/);
    assert.match(prefixUseProblem(prefix('169.254.0.0/24'))!, /link-local/);
    assert.match(prefixUseProblem(prefix('::ffff:0:0/96'))!, /IPv4-mapped/);
    assert.match(prefixUseProblem(prefix('fe80::/64'))!, /link-local/);
    assert.match(prefixUseProblem(prefix('ff02::/16'))!, /multicast/);
    assert.match(prefixUseProblem(prefix('::1/128'))!, /loopback/);
    assert.match(prefixUseProblem(prefix('0.0.0.0/0'))!, /every address/);
    assert.match(prefixUseProblem(prefix('::/0'))!, /every address/);
    // A prefix that merely contains a special range is refused too: it would route it.
    assert.match(prefixUseProblem(prefix('192.0.0.0/2'))!, /multicast/);
    assert.match(prefixUseProblem(prefix('240.0.0.0/4'))!, /limited broadcast/);
  });

  test('usable prefixes are accepted: private, shared, benchmarking, ULA and global ranges', () => {
    const rng = new AddressRng(1002);
    for (let i = 0; i < CASES; i++) {
      const p = usablePrefix(rng);
      assert.equal(prefixUseProblem(p), undefined, formatCidr(p));
    }
    for (const text of ['198.18.0.0/15', '100.64.0.0/10', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8', '2001:db8::/32', '2000::/3', '1.0.0.0/8', '223.255.255.0/24']) {
      assert.equal(prefixUseProblem(prefix(text)), undefined, text);
    }
  });

  test('an address in a special range is refused and names the range', () => {
    const rng = new AddressRng(1003);
    for (let i = 0; i < CASES; i++) {
      const text = unusableAddress(rng);
      const a = parseIp(text);
      assert.ok(a, `${text} parses`);
      assert.match(addressUseProblem(a.family, a.value, text) ?? '', /is in the .* range/, text);
    }
    for (const text of ['0.0.0.0', '::', '127.0.0.1', '::1', '255.255.255.255', '224.0.0.1', 'ff02::1', 'fe80::1', '169.254.169.254', '::ffff:10.0.0.1']) {
      const a = parseIp(text)!;
      assert.ok(addressUseProblem(a.family, a.value), text);
    }
  });

  test('usable host addresses of usable prefixes are accepted', () => {
    const rng = new AddressRng(1004);
    for (let i = 0; i < CASES; i++) {
      const p = usablePrefix(rng);
      const v = usableAddressOf(rng, p);
      assert.equal(addressUseProblem(p.family, v), undefined, formatAddress(p.family, v));
      assert.equal(hostAddressProblem(p, p.family, v), undefined, `${formatAddress(p.family, v)} in ${formatCidr(p)}`);
    }
  });

  test('the IPv4 network and broadcast addresses (and the IPv6 subnet-router anycast) are not host addresses', () => {
    const rng = new AddressRng(1005);
    for (let i = 0; i < CASES; i++) {
      const p = usablePrefix(rng);
      const v = nonHostAddressOf(rng, p);
      const problem = hostAddressProblem(p, p.family, v);
      assert.ok(problem, `${formatAddress(p.family, v)} in ${formatCidr(p)}`);
      assert.match(problem, /network address|broadcast address|subnet-router anycast address/);
    }
    assert.match(hostAddressProblem(prefix('10.0.0.0/24'), 4, ip('10.0.0.0'))!, /network address of 10\.0\.0\.0\/24/);
    assert.match(hostAddressProblem(prefix('10.0.0.0/24'), 4, ip('10.0.0.255'))!, /broadcast address of 10\.0\.0\.0\/24/);
    assert.match(hostAddressProblem(prefix('10.0.0.0/24'), 4, ip('10.0.1.1'))!, /not inside 10\.0\.0\.0\/24/);
    // /31 and /32 have no network or broadcast address: every address is a host's.
    assert.equal(hostAddressProblem(prefix('10.0.0.0/31'), 4, ip('10.0.0.0')), undefined);
    assert.equal(hostAddressProblem(prefix('10.0.0.0/31'), 4, ip('10.0.0.1')), undefined);
    assert.equal(hostAddressProblem(prefix('10.0.0.7/32'), 4, ip('10.0.0.7')), undefined);
    assert.equal(hostAddressProblem(prefix('fd00::7/128'), 6, ip('fd00::7')), undefined);
  });
});
