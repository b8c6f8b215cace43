// Test support for the topology CLI: run the real `weft` command as a child process (as CI
// would), write topology files, and a gate proxy that can hold the CLI's writes at a chosen
// point so that interruption and concurrency are tested deterministically.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

export interface WeftResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Target {
  url: string;
  token: string;
}

/** Starts `node --import tsx src/cli/main.ts ...` with WEFT_SERVER and WEFT_TOKEN set. */
export function spawnWeft(target: Target, args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<WeftResult> } {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, WEFT_SERVER: target.url, WEFT_TOKEN: target.token, ...env };
  delete childEnv.NO_COLOR;
  delete childEnv.FORCE_COLOR;
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<WeftResult>((r) =>
    child.once('close', (code, signal) => {
      children.delete(child);
      r({ code, signal, stdout, stderr });
    }),
  );
  return { child, done };
}

export function weft(target: Target, args: string[], env: Record<string, string> = {}): Promise<WeftResult> {
  return spawnWeft(target, args, env).done;
}

export const show = (r: WeftResult) => `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

export async function writeText(path: string, text: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return path;
}

/** The request as the gate sees it: method, path and parsed JSON body. */
export interface GateRequest {
  method: string;
  path: string;
  body: any;
}

export interface GateProxy {
  url: string;
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of the controller. Every request waits for `gate(req)` to resolve
 * before it is forwarded, so a test can hold a write at an exact point (a write it holds
 * forever is never seen by the server).
 */
export async function startGateProxy(upstream: string, gate: (req: GateRequest) => Promise<void> | void): Promise<GateProxy> {
  const up = new URL(upstream);
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks);
      let body: unknown;
      try {
        body = raw.length ? JSON.parse(raw.toString()) : undefined;
      } catch {
        body = raw.toString();
      }
      await gate({ method: req.method!, path: req.url!, body });
      const fwd = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
        res.writeHead(upRes.statusCode!, upRes.headers);
        upRes.pipe(res);
      });
      fwd.on('error', (err) => {
        res.writeHead(502);
        res.end(String(err));
      });
      fwd.end(raw);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Only the resource keys (metadata and spec) of etcd's contents. */
export function resourcesOnly(contents: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(contents).filter(([k]) => k.startsWith('/weft/v1/r/')));
}

/**
 * The small fabric most topology tests start from: site dc1, plane a, underlay dc1-a
 * (198.18.0.0/24), hosts h1, h2, … at .11, .12, …, and tenant red. Tests append their own
 * documents after a `---`; line numbers in their assertions count from this text.
 */
export function baseFabric(hosts: string[] = ['h1']): string {
  const hostDocs = hosts.map((h, i) => `kind: Host\nmetadata: { name: ${h} }\nspec: { site: dc1, addresses: [198.18.0.${11 + i}] }\n---\n`).join('');
  return `kind: Site\nmetadata: { name: dc1 }\n---\nkind: Plane\nmetadata: { name: a }\n---\nkind: Underlay\nmetadata: { name: dc1-a }\nspec: { site: dc1, plane: a, cidr: 198.18.0.0/24 }\n---\n${hostDocs}kind: Tenant\nmetadata: { name: red }\n`;
}
