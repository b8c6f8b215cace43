// The agent's state directory: its key (never leaves the host), the certificate the controller
// signed, the controller's CA, and where the controller is: every replica's address it was given.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseControllerList } from './candidates.js';
import { writeFileWhole } from './files.js';

export interface Identity {
  host: string;
  site: string;
  /** Controller addresses as given to `weft agent join --controller` (names stay names). */
  controllers: string[];
  keyPem: string;
  certPem: string;
  caPem: string;
}

const FILES = { key: 'agent.key', cert: 'agent.crt', ca: 'ca.crt', meta: 'identity.json', applied: 'applied.json', left: 'left.json' } as const;

export async function saveIdentity(dir: string, id: Identity): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileWhole(join(dir, FILES.key), id.keyPem, 0o600);
  await writeFileWhole(join(dir, FILES.cert), id.certPem);
  await writeFileWhole(join(dir, FILES.ca), id.caPem);
  await writeFileWhole(join(dir, FILES.meta), `${JSON.stringify({ host: id.host, site: id.site, controllers: id.controllers }, null, 2)}\n`);
  // Joined again after a leave: the record of that leave is history now.
  await rm(join(dir, FILES.left), { force: true });
}

/** Replaces the certificate alone (renewal keeps the key): written aside, then renamed over. */
export async function saveCertificate(dir: string, certPem: string): Promise<void> {
  await writeFileWhole(join(dir, FILES.cert), certPem);
}

/** The host's key from an earlier join, so joining again proves it is the same host. */
export async function loadKey(dir: string): Promise<string | undefined> {
  try {
    return await readFile(join(dir, FILES.key), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function loadIdentity(dir: string): Promise<Identity> {
  let meta: { host: string; site: string; controllers?: string[]; controller?: string };
  try {
    meta = JSON.parse(await readFile(join(dir, FILES.meta), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`no agent identity in ${dir}: run "weft agent join" first`);
    throw err;
  }
  // Agents joined before replicas kept one address under `controller`.
  const listed = meta.controllers ?? (meta.controller ? [meta.controller] : []);
  const controllers = parseControllerList(listed, `${join(dir, FILES.meta)}: controllers`);
  const [keyPem, certPem, caPem] = await Promise.all([FILES.key, FILES.cert, FILES.ca].map((f) => readFile(join(dir, f), 'utf8')));
  return { host: meta.host, site: meta.site, controllers, keyPem: keyPem!, certPem: certPem!, caPem: caPem! };
}

/** The generation the dataplane reflects, kept so a restarted agent can say so in its hello. */
export async function loadAppliedGeneration(dir: string): Promise<number> {
  try {
    return Number(JSON.parse(await readFile(join(dir, FILES.applied), 'utf8')).generation) || 0;
  } catch {
    return 0;
  }
}

export async function saveAppliedGeneration(dir: string, generation: number): Promise<void> {
  await writeFileWhole(join(dir, FILES.applied), `${JSON.stringify({ generation })}\n`);
}

/** What `weft agent leave` left behind in place of the identity: enough to say so again. */
export interface LeftRecord {
  host: string;
  site: string;
  leftAt: string;
  /** Whether the Host was deleted, kept marked left, or is not known (a replacement took it). */
  outcome: 'deleted' | 'kept' | 'unknown';
}

/**
 * After a leave: the record first, then the identity files (the key stays: the same machine may
 * join again, and a host kept by `--keep-host` recognises it). `weft agent run` then refuses.
 */
export async function forgetIdentity(dir: string, left: LeftRecord): Promise<void> {
  await writeFileWhole(join(dir, FILES.left), `${JSON.stringify(left, null, 2)}\n`);
  await Promise.all([FILES.meta, FILES.cert, FILES.ca, FILES.applied, 'paths.json'].map((f) => rm(join(dir, f), { force: true })));
}

/** The record of an earlier leave, if this state directory has one and no identity since. */
export async function loadLeft(dir: string): Promise<LeftRecord | undefined> {
  try {
    const text = await readFile(join(dir, FILES.left), 'utf8');
    const r = JSON.parse(text.slice(0, 4096)) as Partial<LeftRecord>;
    return typeof r.host === 'string' && typeof r.leftAt === 'string' ? (r as LeftRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the directory holds a joined identity (identity.json). */
export async function hasIdentity(dir: string): Promise<boolean> {
  try {
    await readFile(join(dir, FILES.meta));
    return true;
  } catch {
    return false;
  }
}
