// `weft agent join`: verify the controller by the CA hash in the token, then trade the token
// and the host's public key for a certificate. The private key is made here and stays here;
// joining again from the same state directory keeps it, since a host is bound to its key (a
// new key under a joined host's name needs an admin re-key: a token with spec.rekey).
// Given several controller addresses (replicas), it joins through the first that answers and
// keeps the whole list, so the agent's sessions can use any of them.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { hostname } from 'node:os';
import type * as grpc from '@grpc/grpc-js';
import { PROTOCOL_VERSION, parseJoinToken, type JoinResponse } from '../src/protocol/index.js';
import { discoverAddresses } from './addresses.js';
import { parseControllerList } from './candidates.js';
import { UnreachableError, agentClient, fetchPinnedCa, resolveCandidates } from './dial.js';
import { loadKey, saveIdentity, type Identity } from './identity.js';

export interface JoinOptions {
  /** One address, a comma-separated list, or a list (see candidates.ts). */
  controller: string | readonly string[];
  token: string;
  stateDir: string;
  hostName?: string;
  agentVersion: string;
  capabilities: Record<string, boolean>;
}

export async function joinController(opts: JoinOptions): Promise<Identity> {
  const controllers = parseControllerList(opts.controller);
  const token = parseJoinToken(opts.token);
  if (!token) throw new Error('the join token is malformed: expected <name>.<secret>@sha256:<hash>, as printed when it was created');
  const { address, caPem } = await firstAnswering(controllers, token.caHash);
  const { publicKey, privateKey } = await hostKeyPair(opts.stateDir);
  const client = agentClient(address, caPem);
  const host = (opts.hostName ?? hostname()).toLowerCase();
  try {
    const res = await new Promise<JoinResponse>((resolve, reject) =>
      client.Join(
        {
          token: opts.token,
          hostName: host,
          publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
          protocolVersion: PROTOCOL_VERSION,
          agentVersion: opts.agentVersion,
          addresses: discoverAddresses(),
          capabilities: opts.capabilities,
        },
        { deadline: Date.now() + 15_000 },
        (err: grpc.ServiceError | null, r?: JoinResponse) => (err ? reject(new Error(err.details || err.message)) : resolve(r!)),
      ),
    );
    const identity: Identity = {
      host: res.hostName,
      site: res.site,
      controllers,
      keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      certPem: res.certificatePem,
      caPem: res.caPem || caPem,
    };
    await saveIdentity(opts.stateDir, identity);
    return identity;
  } finally {
    client.close();
  }
}

/**
 * The first candidate whose TLS handshake completes, with its CA checked against the token.
 * Only an unreachable controller is skipped: one that answers with another CA is refused.
 */
async function firstAnswering(controllers: string[], caHash: string): Promise<{ address: string; caPem: string }> {
  const unreachable: string[] = [];
  const candidates = await resolveCandidates(controllers, (address, err) => unreachable.push(`${address}: ${String(err)}`));
  for (const address of candidates) {
    try {
      return { address, caPem: await fetchPinnedCa(address, caHash) };
    } catch (err) {
      if (!(err instanceof UnreachableError)) throw err;
      unreachable.push(err.message);
    }
  }
  throw new Error(`no controller answered:\n  ${unreachable.join('\n  ')}`);
}

/** The key kept from an earlier join in this state directory, else a new one. */
async function hostKeyPair(stateDir: string): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  const kept = await loadKey(stateDir);
  if (!kept) return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const privateKey = createPrivateKey(kept);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
