// Field schemas shared by every resource kind: names, labels, addresses, CIDRs, MACs, VNIs.
import { z } from 'zod';
import { NETNS_NAME_RE, interfaceNameProblem, netnsNameProblem } from '../protocol/names.js';
import { addressUseProblem, canonicalIp, canonicalMac, formatCidr, parseCidr, parseIp, prefixUseProblem } from './net.js';

export const API_VERSION = 'weft.dev/v1';

export const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const Name = z
  .string()
  .regex(DNS_LABEL_RE, 'must be a DNS label: 1-63 lower-case letters, digits or "-", starting and ending with a letter or digit')
  .describe('DNS label (RFC 1123)');

const LABEL_NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_PREFIX_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !LABEL_PREFIX_RE.test(prefix))) return 'label key prefix must be a DNS subdomain';
  if (!LABEL_NAME_RE.test(name)) return 'label key must be 1-63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
  return undefined;
}

export const LabelValue = z
  .string()
  .regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, 'label value must be at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit');

export const Labels = z
  .record(z.string(), LabelValue)
  .superRefine((labels, ctx) => {
    for (const key of Object.keys(labels)) {
      const problem = labelKeyProblem(key);
      if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
    }
  })
  .describe('Labels for selection, as in Kubernetes');

export const IpAddress = z
  .string()
  .superRefine((s, ctx) => {
    if (!canonicalIp(s)) ctx.addIssue({ code: 'custom', message: `"${s}" is not an IPv4 or IPv6 address` });
  })
  .transform((s) => canonicalIp(s) ?? s)
  .describe('IPv4 or IPv6 address');

export const Cidr = z
  .string()
  .superRefine((s, ctx) => {
    const p = parseCidr(s);
    if (p === 'invalid') ctx.addIssue({ code: 'custom', message: `"${s}" is not a CIDR (address/length)` });
    else if (p === 'host-bits') ctx.addIssue({ code: 'custom', message: `"${s}" has host bits set` });
  })
  .transform((s) => {
    const p = parseCidr(s);
    return typeof p === 'string' ? s : formatCidr(p);
  })
  .describe('IPv4 or IPv6 prefix in CIDR notation, without host bits');

/** An address a host, an endpoint, a gateway or a next hop can have: not in a special range (net.ts). */
export const UsableIp = z
  .string()
  .superRefine((s, ctx) => {
    const a = parseIp(s);
    if (!a) return void ctx.addIssue({ code: 'custom', message: `"${s}" is not an IPv4 or IPv6 address` });
    const problem = addressUseProblem(a.family, a.value, s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((s) => canonicalIp(s) ?? s)
  .describe('Unicast IPv4 or IPv6 address; not unspecified, loopback, link-local, multicast, broadcast or IPv4-mapped');

/** A prefix a subnet, an underlay or a route destination can be: not every address, overlapping no special range (net.ts). */
export const UsableCidr = z
  .string()
  .superRefine((s, ctx) => {
    const p = parseCidr(s);
    if (p === 'invalid') return void ctx.addIssue({ code: 'custom', message: `"${s}" is not a CIDR (address/length)` });
    if (p === 'host-bits') return void ctx.addIssue({ code: 'custom', message: `"${s}" has host bits set` });
    const problem = prefixUseProblem(p);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((s) => {
    const p = parseCidr(s);
    return typeof p === 'string' ? s : formatCidr(p);
  })
  .describe('IPv4 or IPv6 prefix in CIDR notation, without host bits; not /0 and overlapping no loopback, link-local, multicast, broadcast, "this network" or IPv4-mapped range');

/** A network namespace name exactly as agents accept it (src/protocol/names.ts). */
export const NetnsName = z
  .string()
  .regex(NETNS_NAME_RE, 'must be 1-64 letters, digits, "_", "." or "-"')
  .superRefine((s, ctx) => {
    const problem = NETNS_NAME_RE.test(s) ? netnsNameProblem(s) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('Network namespace under /run/netns: 1-64 letters, digits, "_", "." or "-", not "." or ".."');

const PORTABLE_IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

/** An interface name the kernel accepts (src/protocol/names.ts), kept to a portable character set. */
export const InterfaceName = z
  .string()
  .regex(PORTABLE_IFNAME_RE, 'must be 1-15 letters, digits, "_", "." or "-"')
  .superRefine((s, ctx) => {
    const problem = PORTABLE_IFNAME_RE.test(s) ? interfaceNameProblem(s) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('Interface name: 1-15 letters, digits, "_", "." or "-", not "." or ".."');

export const Mac = z
  .string()
  .superRefine((s, ctx) => {
    if (!canonicalMac(s)) ctx.addIssue({ code: 'custom', message: `"${s}" is not a unicast MAC address` });
  })
  .transform((s) => canonicalMac(s) ?? s)
  .describe('Unicast MAC address');

export const VNI_MIN = 1;
export const VNI_MAX = 16_777_215;
export const Vni = z
  .int()
  .min(VNI_MIN, `must be between ${VNI_MIN} and ${VNI_MAX}`)
  .max(VNI_MAX, `must be between ${VNI_MIN} and ${VNI_MAX}`).describe('VXLAN/Geneve network identifier, 1..16777215');

export const Mtu = z.int().min(576, 'must be between 576 and 65535').max(65535, 'must be between 576 and 65535');

export const Timestamp = z.iso.datetime({ offset: true });

export const Description = z.string().max(1024).describe('Free text for people; Weft does not read it');
