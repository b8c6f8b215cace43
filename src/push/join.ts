// Admitting a host: check the join token, record the host, and sign its client certificate.
import { joinSecretMatches } from '../auth/index.js';
import { ConflictError, ForbiddenError, UnauthenticatedError, ValidationError } from '../errors/index.js';
import { DNS_LABEL_RE, KINDS, type Host, type JoinToken } from '../model/index.js';
import { hostKeyFingerprint, type Pki } from '../pki/index.js';
import { parseJoinToken, type JoinRequest, type JoinResponse } from '../protocol/index.js';
import { checkJoinRequest } from '../protocol/agent-messages.js';
import type { Store } from '../store/index.js';
import { joinKeyRefusal } from './host-identity.js';
import { hostAddressStatus } from './host-status.js';

export interface JoinDeps {
  store: Store;
  pki: Pki;
  now?: () => Date;
}

const refused = (why: string) => new UnauthenticatedError(`join refused: ${why}`);

/** Joins on one token run one at a time in this process: they all update its use count. */
const tokenQueues = new Map<string, Promise<unknown>>();

export async function admitHost(req: JoinRequest, deps: JoinDeps): Promise<JoinResponse> {
  // Every field bounded and the key parsed before anything else: a bad request spends no
  // use, makes no host and does not queue behind other joins.
  const checked = checkJoinRequest(req);
  if (!checked.ok) throw ValidationError.field(checked.problem.field, checked.problem.message);
  const name = parseJoinToken(req.token)?.name ?? '';
  const prev = tokenQueues.get(name) ?? Promise.resolve();
  const mine = prev.catch(() => undefined).then(() => admit(req, deps));
  tokenQueues.set(name, mine);
  try {
    return await mine;
  } finally {
    if (tokenQueues.get(name) === mine) tokenQueues.delete(name);
  }
}

async function admit(req: JoinRequest, deps: JoinDeps): Promise<JoinResponse> {
  const now = deps.now?.() ?? new Date();
  const token = parseJoinToken(req.token);
  if (!token) throw refused('the token is malformed (expected <name>.<secret>@sha256:<hash>)');
  if (token.caHash !== deps.pki.caHash) throw refused('the token was issued by another controller (its CA hash does not match)');
  if (!DNS_LABEL_RE.test(req.hostName)) throw ValidationError.field('hostName', `"${req.hostName}" is not a valid host name (a DNS label)`);
  const store = deps.store;
  const cache = store.cache;
  await store.fresh();
  const jt = cache.get({ kind: 'JoinToken', name: token.name }) as JoinToken | undefined;
  if (!jt || !joinSecretMatches(token, store.joinTokenHash(token.name))) throw refused('the token is not valid');
  if (jt.spec.expiresAt && new Date(jt.spec.expiresAt) <= now) throw refused(`the token expired at ${jt.spec.expiresAt}`);
  const existing = cache.get({ kind: 'Host', name: req.hostName }) as Host | undefined;
  const site = jt.spec.site ?? existing?.spec.site;
  if (!site) throw refused(`the token names no site and host ${req.hostName} is not pre-declared; create the host or use a token with a site`);
  if (existing && jt.spec.site && existing.spec.site !== jt.spec.site) {
    throw ConflictError.field('hostName', `host ${req.hostName} is declared in site ${existing.spec.site}, but the token is for site ${jt.spec.site}`);
  }
  // The host's identity before anything is spent or written: an existing host's name needs
  // its own key, or a token the admin made to re-key it.
  const keySha256 = joiningKeyFingerprint(req.publicKeyPem);
  const keyRefusal = joinKeyRefusal(existing, keySha256, jt);
  if (keyRefusal) throw new ForbiddenError(`join refused: ${keyRefusal}`);
  // Take a use first: a token is a cap, and a join that fails later has still spent it.
  await store.updateStatus<'JoinToken'>({ kind: 'JoinToken', name: token.name }, (status) => {
    if (status.uses >= jt.spec.maxUses) throw refused(`the token has been used up (${status.uses} of ${jt.spec.maxUses})`);
    return { ...status, uses: status.uses + 1, lastUsedAt: now.toISOString() };
  });
  if (!existing) {
    await store.create(KINDS.Host, { metadata: { name: req.hostName, labels: {} }, spec: { site, addresses: [] } }, {}).catch((err) => {
      // Two agents joining with one name at once: the second finds the host made.
      if (!(err instanceof ConflictError)) throw err;
    });
  }
  // Binding the key is a compare-and-swap on the host's status: of two joins racing for a new
  // name with different keys, the second is refused here.
  const host = await store.updateStatus<'Host'>({ kind: 'Host', name: req.hostName }, (status, h) => {
    const raced = joinKeyRefusal(h as Host, keySha256, jt);
    if (raced) throw new ForbiddenError(`join refused: ${raced}`);
    return {
      ...status,
      // A host that left is taken over by this join (its replacement, or itself again).
      state: status.state === undefined || status.state === 'left' ? 'joining' : status.state,
      agentVersion: req.agentVersion || status.agentVersion,
      capabilities: Object.keys(req.capabilities).length ? req.capabilities : status.capabilities,
      addresses: hostAddressStatus(cache, site, req.addresses),
      keySha256,
    };
  });
  if (!host) throw new ConflictError(`host ${req.hostName} was deleted while it joined; join again`);
  const certificatePem = await deps.pki.signClientCertificate(req.hostName, req.publicKeyPem, host.metadata.uid).catch((err: unknown) => {
    throw ValidationError.field('publicKeyPem', `not a usable P-256 public key: ${String(err)}`);
  });
  return { hostName: req.hostName, site, certificatePem, caPem: deps.pki.caPem };
}

/** The joining key's fingerprint; a key that is not an EC P-256 public key names the field. */
function joiningKeyFingerprint(pem: string): string {
  const fp = hostKeyFingerprint(pem);
  if (!fp) throw ValidationError.field('publicKeyPem', 'must be an EC P-256 public key in PEM (SPKI)');
  return fp;
}
