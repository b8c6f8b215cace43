// Running iproute2 and commands inside namespaces. Each spawn costs ≈ 5 ms, so callers batch:
// `ip -n NS -batch -` programs one namespace with one process.
import { execFile, type ChildProcess } from 'node:child_process';

export interface RunOptions {
  /** Written to the process's standard input, which is then closed. */
  input?: string;
  /** Kill the process (SIGKILL) after this long; default 30 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly code: number | string | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')} failed (${typeof code === 'number' ? `exit ${code}` : code ?? 'killed'}): ${stderr.trim() || stdout.trim() || '(no output)'}`);
    this.name = 'CommandError';
  }
}

/** Children of run() still running, so the exit hooks can kill them. */
export const running = new Set<ChildProcess>();

/** Runs argv[0] with the rest as arguments; resolves to stdout, rejects with a CommandError. */
export function run(argv: string[], opts: RunOptions = {}): Promise<string> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('run: empty argv'));
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 30_000, killSignal: 'SIGKILL', env: opts.env ?? process.env },
      (err, stdout, stderr) => {
        running.delete(child);
        if (err === null) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & { code?: number | string | null; signal?: string | null };
        reject(new CommandError(argv, e.code ?? e.signal ?? null, stdout, stderr));
      },
    );
    running.add(child);
    child.stdin?.on('error', () => {}); // a process that exits without reading its input
    child.stdin?.end(opts.input ?? '');
  });
}

/**
 * `ipBatch` started now and told its commands later: `fire()` writes them and resolves when ip
 * is done. The process start (fork, exec, ip's own set-up: tens of ms, seconds on a starved
 * machine) is then not part of the moment the commands take effect, which a benchmark times.
 */
export function armIpBatch(lines: string[], ns?: string): { fire(): Promise<string> } {
  const argv = ns === undefined ? ['ip', '-batch', '-'] : ['ip', '-n', ns, '-batch', '-'];
  const [file, ...args] = argv;
  let child!: ReturnType<typeof execFile>;
  const done = new Promise<string>((resolve, reject) => {
    child = execFile(file!, args, { encoding: 'utf8', maxBuffer: 1024 * 1024, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      running.delete(child);
      if (err === null) return resolve(stdout);
      const e = err as NodeJS.ErrnoException & { code?: number | string | null; signal?: string | null };
      reject(new CommandError(argv, e.code ?? e.signal ?? null, stdout, stderr));
    });
  });
  running.add(child);
  child.stdin?.on('error', () => {});
  return {
    fire() {
      child.stdin?.end(lines.join('\n') + '\n');
      return done;
    },
  };
}

/** One `ip` process for many commands: `ip [-n ns] -batch -`. */
export function ipBatch(lines: string[], ns?: string): Promise<string> {
  if (lines.length === 0) return Promise.resolve('');
  const argv = ns === undefined ? ['ip', '-batch', '-'] : ['ip', '-n', ns, '-batch', '-'];
  return run(argv, { input: lines.join('\n') + '\n' });
}
