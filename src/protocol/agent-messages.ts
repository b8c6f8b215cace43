// Every message an agent sends, as a schema: what the controller accepts at the gRPC boundary
// before anything reaches the distributor, the path book or etcd. Whatever an admitted agent
// sends is untrusted: sizes, counts, ranges, finite numbers and address syntax are all
// checked here, and a refusal names the field. Pure; the agent may use it on itself too.
import { createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import type { AgentMessage, JoinRequest } from './index.js';
import {
  MAX_ACK_ERRORS,
  MAX_ADDRESSES,
  MAX_CAPABILITIES,
  MAX_CAPABILITY_NAME,
  MAX_COUNTER,
  MAX_EPOCH_MS,
  MAX_ERROR_TEXT,
  MAX_MTU_PROBLEM,
  MAX_OBJECT_TEXT,
  MAX_PUBLIC_KEY_PEM,
  MAX_REPORTED_PATHS,
  MAX_RTT_MS,
  MAX_SEGMENT_ID,
  MAX_TOKEN_TEXT,
  MAX_VERSION_TEXT,
} from './limits.js';
import type { WireLimits } from './wire-limits.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Printable text without control characters (they would garble logs and status). */
const PRINTABLE = /^[^\x00-\x1f\x7f]*$/;

const Label = z.string().max(63).regex(DNS_LABEL, 'must be a DNS label');
const Text = (max: number) => z.string().max(max).regex(PRINTABLE, 'must not contain control characters');
const Address = z.string().max(64).refine((s) => isIP(s) !== 0, 'must be an IPv4 or IPv6 address');
const OptionalAddress = z.string().max(64).refine((s) => s === '' || isIP(s) !== 0, 'must be an IPv4 or IPv6 address or empty');
const Counter = z.number().int().min(0).max(MAX_COUNTER);
const Milliseconds = z.number().min(0).max(MAX_RTT_MS);

/** Counts first: a schema checks each element before the array's own bound. */
const boundedArray = <T extends z.ZodType>(item: T, max: number) =>
  z
    .custom<unknown[]>((v) => Array.isArray(v) && v.length <= max, { message: `must be a list of at most ${max} entries` })
    .pipe(z.array(item));

const Capabilities = z
  .custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length <= MAX_CAPABILITIES, {
    message: `must be a map of at most ${MAX_CAPABILITIES} entries`,
  })
  .pipe(z.record(z.string().max(MAX_CAPABILITY_NAME).regex(/^[a-z0-9_.-]+$/, 'must be a capability name ([a-z0-9_.-])'), z.boolean()));

const SPKI_PEM = /^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\r?\n?$/;

/**
 * Whether `pem` is exactly one EC P-256 public key in PEM (SPKI): the only kind the controller's
 * CA certifies. One block and nothing else: createPublicKey would also take a private key (or a
 * certificate) and derive its public half, and the protocol has no business carrying those.
 */
export function isP256PublicKeyPem(pem: string): boolean {
  if (pem.length > MAX_PUBLIC_KEY_PEM || !SPKI_PEM.test(pem)) return false;
  try {
    const key = createPublicKey(pem);
    return key.type === 'public' && key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  } catch {
    return false;
  }
}

export const PublicKeyPem = z.string().max(MAX_PUBLIC_KEY_PEM).refine(isP256PublicKeyPem, 'must be an EC P-256 public key in PEM (SPKI)');

export const JoinRequestSchema = z.object({
  token: z.string().max(MAX_TOKEN_TEXT),
  hostName: Label,
  publicKeyPem: PublicKeyPem,
  protocolVersion: z.number().int().min(0).max(65_535),
  agentVersion: Text(MAX_VERSION_TEXT),
  addresses: boundedArray(Address, MAX_ADDRESSES),
  capabilities: Capabilities,
});

export const HelloSchema = z.object({
  protocolVersion: z.number().int().min(0).max(65_535),
  agentVersion: Text(MAX_VERSION_TEXT),
  capabilities: Capabilities,
  addresses: boundedArray(Address, MAX_ADDRESSES),
  appliedGeneration: Counter,
});

export const ObjectErrorSchema = z.object({
  segment: Text(MAX_SEGMENT_ID),
  object: Text(MAX_OBJECT_TEXT),
  message: z.string().max(MAX_ERROR_TEXT),
});

export const AckSchema = z.object({
  generation: Counter,
  errors: boundedArray(ObjectErrorSchema, MAX_ACK_ERRORS),
});

export const PathStatusSchema = z.object({
  peer: Label,
  plane: Label,
  localAddress: OptionalAddress,
  remoteAddress: OptionalAddress,
  state: z.enum(['PATH_STATE_UNKNOWN', 'PATH_STATE_UP', 'PATH_STATE_DOWN']),
  sinceMs: z.number().int().min(0).max(MAX_EPOCH_MS),
  rttMs: Milliseconds,
  jitterMs: Milliseconds,
  loss: z.number().min(0).max(1),
  pathMtu: z.number().int().min(0).max(65_535),
  mtuProblem: Text(MAX_MTU_PROBLEM),
  probesSent: Counter,
  probesReceived: Counter,
});

export const PathReportSchema = z.object({
  changes: boundedArray(PathStatusSchema, MAX_REPORTED_PATHS),
  stats: boundedArray(PathStatusSchema, MAX_REPORTED_PATHS),
  complete: z.boolean(),
});

/** Renewal requests are handled elsewhere; here only their size is bounded. */
export const RenewRequestSchema = z.object({ publicKeyPem: PublicKeyPem });

/** What a message's wire bytes may hold before decoding (see wire-limits.ts). */
export const AGENT_MESSAGE_WIRE_LIMITS: WireLimits = {
  maxFields: 8,
  fields: {
    1: { name: 'hello', max: 1, nested: { maxFields: 16 + MAX_ADDRESSES + MAX_CAPABILITIES, fields: { 3: { name: 'capabilities', max: MAX_CAPABILITIES }, 4: { name: 'addresses', max: MAX_ADDRESSES } } } },
    2: { name: 'ack', max: 1, nested: { maxFields: 16 + MAX_ACK_ERRORS, fields: { 2: { name: 'errors', max: MAX_ACK_ERRORS } } } },
    3: { name: 'pathReport', max: 1, nested: { maxFields: 16 + 2 * MAX_REPORTED_PATHS, fields: { 1: { name: 'changes', max: MAX_REPORTED_PATHS }, 2: { name: 'stats', max: MAX_REPORTED_PATHS } } } },
    4: { name: 'renew', max: 1, nested: { maxFields: 16, fields: {} } },
  },
};

export const JOIN_REQUEST_WIRE_LIMITS: WireLimits = {
  maxFields: 32 + MAX_ADDRESSES + MAX_CAPABILITIES,
  fields: { 6: { name: 'addresses', max: MAX_ADDRESSES }, 7: { name: 'capabilities', max: MAX_CAPABILITIES } },
};

export interface FieldProblem {
  /** Dotted path of the offending field, e.g. `pathReport.changes[3].sinceMs`. */
  field: string;
  message: string;
}

/** A checked agent message: exactly one body, or none this controller knows (ignored). */
export type CheckedAgentMessage =
  | { ok: true; message: AgentMessage }
  | { ok: false; problem: FieldProblem };

const BODIES = {
  hello: HelloSchema,
  ack: AckSchema,
  pathReport: PathReportSchema,
  renew: RenewRequestSchema,
} as const;

/**
 * Checks one decoded session message. A message whose body this controller does not know (a
 * newer agent's) is returned as is, with no body: fields are only ever added to the protocol.
 */
export function checkAgentMessage(m: AgentMessage): CheckedAgentMessage {
  for (const [name, schema] of Object.entries(BODIES)) {
    const body = (m as unknown as Record<string, unknown>)[name];
    if (body === undefined || body === null) continue;
    const r = schema.safeParse(body);
    if (!r.success) return { ok: false, problem: firstProblem(r.error, name) };
  }
  return { ok: true, message: m };
}

/** Checks a decoded JoinRequest; the first problem names its field. */
export function checkJoinRequest(req: JoinRequest): { ok: true; request: JoinRequest } | { ok: false; problem: FieldProblem } {
  const r = JoinRequestSchema.safeParse(req);
  return r.success ? { ok: true, request: req } : { ok: false, problem: firstProblem(r.error, '') };
}

function firstProblem(err: z.ZodError, prefix: string): FieldProblem {
  const issue = err.issues[0]!;
  let field = prefix;
  for (const p of issue.path) field = typeof p === 'number' ? `${field}[${p}]` : field ? `${field}.${String(p)}` : String(p);
  return { field: field || 'message', message: issue.message };
}
