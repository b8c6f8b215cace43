// The agent's state directory: its key (never leaves the host), the certificate the controller
// signed, the controller's CA, and where the controller is: every replica's address it was given.
import { mkdir, readFile } from 'node:fs/promises';
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

const FILES = { key: 'agent.key', cert: 'agent.crt', ca: 'ca.crt', meta: 'identity.json', applied: 'applied.json' } as const;

export async function saveIdentity(dir: string, id: Identity): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileWhole(join(dir, FILES.key), id.keyPem, 0o600);
  await writeFileWhole(join(dir, FILES.cert), id.certPem);
  await writeFileWhole(join(dir, FILES.ca), id.caPem);
  await writeFileWhole(join(dir, FILES.meta), `${JSON.stringify({ host: id.host, site: id.site, controllers: id.controllers }, null, 2)}\n`);
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
