// Can this host run the probe engine? The binary must exist and be executable, and it must be
// able to open a raw ICMP socket (root or CAP_NET_RAW): it answers `hello` with `H ok` or
// `H err EPERM`. Never throws: the answer carries the reason, for the agent's log.
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { DEFAULT_ENGINE_BINARY } from './engine.js';
import { LineSplitter, parseEngineLine } from './lines.js';

export interface EngineAvailability {
  ok: boolean;
  /** Why not, when not. */
  reason: string;
}

export async function probeEngineAvailable(binary = DEFAULT_ENGINE_BINARY, timeoutMs = 3000): Promise<EngineAvailability> {
  try {
    await access(binary, constants.X_OK);
  } catch {
    return { ok: false, reason: `no probe engine at ${binary} (built by bin/build-probe.sh; needs a C compiler)` };
  }
  return new Promise((resolve) => {
    const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'ignore'] });
    const done = (r: EngineAvailability): void => {
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, reason: `the probe engine did not answer hello within ${timeoutMs} ms` }), timeoutMs);
    const splitter = new LineSplitter();
    child.stdout!.setEncoding('latin1');
    child.stdout!.on('data', (chunk: string) =>
      splitter.push(chunk, (line) => {
        const ev = parseEngineLine(line);
        if (ev?.kind === 'hello') done(ev.ok ? { ok: true, reason: '' } : { ok: false, reason: `the probe engine cannot open a raw ICMP socket (${ev.error}); needs root or CAP_NET_RAW` });
      }),
    );
    child.once('error', (err) => done({ ok: false, reason: `the probe engine does not start: ${err.message}` }));
    child.once('exit', (code, signal) => done({ ok: false, reason: `the probe engine exited (${code ?? signal}) before answering hello` }));
    child.stdin!.on('error', () => undefined);
    child.stdin!.end('hello\n');
  });
}
