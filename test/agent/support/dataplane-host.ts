// Runs one Dataplane in this process's network namespace, driven by JSON lines on stdin:
// {id, cmd, args} -> {id, ok, result | error}; drift callbacks arrive as {event: "drift"}.
// Started by AgentHost (netns.ts) under `ip netns exec`.
import { createInterface } from 'node:readline';
import { Dataplane } from '../../../agents/dataplane/index.js';

const dp = new Dataplane({
  log: {
    info: (obj, msg) => process.stderr.write(`info ${msg ?? ''} ${JSON.stringify(obj)}\n`),
    warn: (obj, msg) => process.stderr.write(`warn ${msg ?? ''} ${JSON.stringify(obj)}\n`),
  },
});
let unwatch: (() => void) | undefined;

const send = (msg: unknown): void => { process.stdout.write(JSON.stringify(msg) + '\n'); };

async function handle(cmd: string, args: unknown): Promise<unknown> {
  switch (cmd) {
    case 'ping': return 'pong';
    case 'setDesired': dp.setDesired(args as Parameters<Dataplane['setDesired']>[0]); return null;
    case 'flush': return dp.flush();
    case 'writes': return dp.writes;
    case 'echoes': return dp.echoesIgnored;
    case 'dirty': return dp.dirty;
    case 'capabilities': return dp.capabilities();
    case 'watch':
      unwatch?.();
      unwatch = dp.watch(() => send({ event: 'drift' }), { debounceMs: 50 });
      return null;
    case 'close':
      unwatch?.();
      dp.close();
      setImmediate(() => process.exit(0));
      return null;
    default: throw new Error(`unknown command ${cmd}`);
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const { id, cmd, args } = JSON.parse(line) as { id: number; cmd: string; args?: unknown };
  handle(cmd, args).then(
    (result) => send({ id, ok: true, result }),
    (e: unknown) => send({ id, ok: false, error: e instanceof Error ? e.message : String(e) }),
  );
}).on('close', () => { unwatch?.(); dp.close(); });
