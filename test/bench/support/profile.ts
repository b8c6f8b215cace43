import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';

/**
 * Starts V8's CPU profiler in a running Node process through its inspector (SIGUSR1 opens it on
 * 127.0.0.1:9229; --cpu-prof cannot be passed in NODE_OPTIONS, and the test harness starts the
 * controller). The returned function stops it and writes the profile into `dir`.
 */
export async function profileProcess(pid: number): Promise<(dir: string, name?: string) => Promise<string>> {
  process.kill(pid, 'SIGUSR1');
  let target: { webSocketDebuggerUrl: string } | undefined;
  for (let i = 0; i < 50 && !target; i++) {
    await new Promise((r) => setTimeout(r, 100));
    target = await fetch('http://127.0.0.1:9229/json/list').then((r) => r.json() as Promise<{ webSocketDebuggerUrl: string }[]>).then((l) => l[0], () => undefined);
  }
  if (!target) throw new Error('the inspector did not open');
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  let id = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<any>((r) => {
      const me = ++id;
      const on = (data: Buffer) => {
        const m = JSON.parse(String(data));
        if (m.id === me) (ws.off('message', on), r(m.result));
      };
      ws.on('message', on);
      ws.send(JSON.stringify({ id: me, method, params }));
    });
  await call('Profiler.enable');
  await call('Profiler.setSamplingInterval', { interval: 200 });
  await call('Profiler.start');
  return async (dir, name = 'controller') => {
    const { profile } = await call('Profiler.stop');
    ws.close();
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${name}-${pid}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
    return file;
  };
}
