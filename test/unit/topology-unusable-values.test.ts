// `weft apply` refuses the values the network cannot use exactly as the API does: topology files
// are validated by the same model schemas (src/model) and planned by the same planners
// (src/intent), so every refusal names the same field, located in the file.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatAddress, formatCidr } from '../../src/model/index.js';
import { formatProblem, parseTopology } from '../../src/topology/index.js';
import { AddressRng, nonHostAddressOf, unusableAddress, unusableInterface, unusableNetns, unusablePrefix, usableAddressOf, usablePrefix } from '../support/address-cases.js';
import { FABRIC, docsOf, plan } from './topology-fixtures.js';

const CASES = 150;

/** The fields the file's problems name (parse problems, then plan problems). */
function problemFields(text: string): { fields: string[]; shown: string } {
  const parsed = parseTopology([{ file: 'fabric.yaml', text }]);
  const problems = parsed.problems.length ? parsed.problems : plan(parsed.docs, []).problems;
  return { fields: [...new Set(problems.map((p) => p.field ?? ''))], shown: problems.map(formatProblem).join('\n') };
}

function refusedNaming(text: string, field: string, what: string): void {
  const { fields, shown } = problemFields(text);
  assert.deepEqual(fields, [field], `${what}\n${shown}\n---\n${text.slice(FABRIC.length)}`);
  assert.match(shown, /^fabric\.yaml:\d+:\d+: /m, 'located in the file');
}

const q = (s: string) => JSON.stringify(s);

describe('weft apply: values the network cannot use (generated)', () => {
  test('the example fabric plans without problems', () => {
    assert.deepEqual(plan(docsOf(FABRIC), []).problems.map(formatProblem), []);
  });

  test('unusable prefixes as subnets, underlay CIDRs and route destinations are refused naming the field', () => {
    const rng = new AddressRng(4001);
    for (let i = 0; i < CASES; i++) {
      const bad = unusablePrefix(rng);
      refusedNaming(`${FABRIC}---\nkind: Network\nmetadata: { name: n${i}, tenant: red }\nspec: { subnets: [{ cidr: ${q(bad.cidr)} }] }\n`, 'spec.subnets[0].cidr', bad.cidr);
      refusedNaming(`${FABRIC}---\nkind: Underlay\nmetadata: { name: u${i} }\nspec: { site: dc1, plane: a, cidr: ${q(bad.cidr)} }\n`, 'spec.cidr', bad.cidr);
      const home = usablePrefix(rng, bad.family);
      const via = formatAddress(home.family, usableAddressOf(rng, home));
      refusedNaming(`${FABRIC}---\nkind: Underlay\nmetadata: { name: u${i} }\nspec: { site: dc1, plane: a, cidr: ${q(formatCidr(home))}, routes: [{ to: ${q(bad.cidr)}, via: ${q(via)} }] }\n`, 'spec.routes[0].to', bad.cidr);
    }
  });

  test('unusable, network and broadcast addresses as gateways, host and endpoint addresses are refused naming the field', () => {
    const rng = new AddressRng(4002);
    for (let i = 0; i < CASES; i++) {
      const bad = unusableAddress(rng, 4);
      refusedNaming(`${FABRIC}---\nkind: Host\nmetadata: { name: h${i + 10} }\nspec: { site: dc1, addresses: [${q(bad)}] }\n`, 'spec.addresses[0]', bad);
      refusedNaming(`${FABRIC}---\nkind: Endpoint\nmetadata: { name: e${i}, tenant: red, network: web }\nspec: { host: h1, ips: [${q(bad)}] }\n`, 'spec.ips[0]', bad);
      const p = usablePrefix(rng);
      const edge = formatAddress(p.family, nonHostAddressOf(rng, p));
      refusedNaming(`${FABRIC}---\nkind: Network\nmetadata: { name: n${i}, tenant: red }\nspec: { subnets: [{ cidr: ${q(formatCidr(p))}, gateway: ${q(edge)} }] }\n`, 'spec.subnets[0].gateway', edge);
    }
  });

  test('a host address that is its underlay\'s network, broadcast or gateway address is refused by the planner naming it', () => {
    const withGateway = FABRIC.replace('cidr: 198.18.0.0/24 }', 'cidr: 198.18.0.0/24, gateway: 198.18.0.1 }');
    assert.notEqual(withGateway, FABRIC);
    for (const bad of ['198.18.0.0', '198.18.0.255', '198.18.0.1']) {
      refusedNaming(`${withGateway}---\nkind: Host\nmetadata: { name: h9 }\nspec: { site: dc1, addresses: [${bad}] }\n`, 'spec.addresses[0]', bad);
    }
    refusedNaming(`${withGateway}---\nkind: Host\nmetadata: { name: h9 }\nspec: { site: dc1, addresses: [198.18.0.9, 198.18.0.9] }\n`, 'spec.addresses[1]', 'twice');
  });

  test('workload namespace and interface names agents or the kernel refuse are refused naming the field', () => {
    const rng = new AddressRng(4003);
    for (let i = 0; i < CASES; i++) {
      const netns = unusableNetns(rng);
      refusedNaming(`${FABRIC}---\nkind: Endpoint\nmetadata: { name: e${i}, tenant: red, network: web }\nspec: { host: h1, workload: { netns: ${q(netns)} } }\n`, 'spec.workload.netns', q(netns));
      const iface = unusableInterface(rng);
      refusedNaming(`${FABRIC}---\nkind: Endpoint\nmetadata: { name: e${i}, tenant: red, network: web }\nspec: { host: h1, workload: { interface: ${q(iface)} } }\n`, 'spec.workload.interface', q(iface));
    }
  });
});
