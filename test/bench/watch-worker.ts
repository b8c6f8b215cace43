// A worker process for watch.bench.ts: holds its share of the clients, so that receiving and
// parsing 200 × 1,000 messages does not happen in the process that measures (the first version
// did, and measured itself). Not a benchmark itself (run.sh only picks up *.bench.ts); the
// parent forks it with an IPC channel.
//
// Each client stamps every change it receives with the wall clock (performance.timeOrigin +
// performance.now(), the same clock the parent stamps its puts with) before doing anything else,
// and keeps (seq, time) pairs in typed arrays; the parent collects them at the end. Only the
// label carrying the change's sequence number is read from a message (a regex, not a full
// JSON.parse), the same for both paths, so the clients cost as little and as equally as we can.
import { Etcd3, type Watcher } from 'etcd3';
import WebSocket from 'ws';

// ---------- the IPC protocol (the parent imports these types) ----------

export type ToWorker =
  /** Open `clients` /v1/watch sockets and wait until each has its snapshot. */
  | { type: 'ws'; url: string; token: string; clients: number; changes: number }
  /** Open `clients` etcd clients, one watch each on `prefix`. */
  | { type: 'etcd'; endpoint: string; prefix: string; clients: number; changes: number }
  /** Send what was received so far (also sent unasked once every client has every change). */
  | { type: 'collect' }
  | { type: 'close' }
  | { type: 'exit' };

export type FromWorker =
  | { type: 'ready'; clients: number; ms: number }
  /** Per client, the sequence numbers received and when (ms, wall clock), in arrival order. */
  | { type: 'stamps'; complete: boolean; seqs: number[][]; times: number[][] }
  | { type: 'closed' }
  | { type: 'fatal'; message: string };

const now = () => performance.timeOrigin + performance.now();
const send = (m: FromWorker) => process.send!(m);
const SEQ = /"seq":"(\d+)"/;

class Recorder {
  n = 0;
  readonly seqs: Int32Array;
  readonly times: Float64Array;
  constructor(changes: number) {
    this.seqs = new Int32Array(changes);
    this.times = new Float64Array(changes);
  }
  record(t: number, text: string): void {
    const m = SEQ.exec(text);
    if (!m || this.n >= this.seqs.length) return;
    this.seqs[this.n] = Number(m[1]);
    this.times[this.n++] = t;
  }
}

let recorders: Recorder[] = [];
let expected = 0;
let reported = false;
let closers: (() => Promise<void>)[] = [];

function report(complete: boolean): void {
  reported = true;
  send({
    type: 'stamps',
    complete,
    seqs: recorders.map((r) => Array.from(r.seqs.subarray(0, r.n))),
    times: recorders.map((r) => Array.from(r.times.subarray(0, r.n))),
  });
}

function received(r: Recorder): void {
  if (r.n === expected && !reported && recorders.every((x) => x.n === expected)) report(true);
}

function reset(changes: number, clients: number): void {
  recorders = Array.from({ length: clients }, () => new Recorder(changes));
  expected = changes;
  reported = false;
}

async function openSockets(m: Extract<ToWorker, { type: 'ws' }>): Promise<void> {
  reset(m.changes, m.clients);
  const t0 = performance.now();
  const sockets = await Promise.all(
    recorders.map(
      (r) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(m.url, { headers: { authorization: `Bearer ${m.token}` } });
          let live = false;
          ws.on('message', (data) => {
            const t = now();
            const text = String(data);
            if (!live) {
              // hello, then the snapshot; every change after that is a live event.
              if (text.startsWith('{"type":"snapshot"')) {
                live = true;
                resolve(ws);
              }
              return;
            }
            if (!text.startsWith('{"type":"resource"')) return;
            r.record(t, text);
            received(r);
          });
          ws.once('error', reject);
          ws.once('close', (code) => !live && reject(new Error(`closed with ${code} before the snapshot`)));
        }),
    ),
  );
  closers = [
    async () => {
      await Promise.all(sockets.map((ws) => new Promise<void>((r) => (ws.readyState === WebSocket.CLOSED ? r() : (ws.once('close', () => r()), ws.close())))));
    },
  ];
  send({ type: 'ready', clients: sockets.length, ms: performance.now() - t0 });
}

async function openWatches(m: Extract<ToWorker, { type: 'etcd' }>): Promise<void> {
  reset(m.changes, m.clients);
  const t0 = performance.now();
  const clients = recorders.map(() => new Etcd3({ hosts: m.endpoint }));
  const watchers: Watcher[] = await Promise.all(
    clients.map(async (c, i) => {
      const r = recorders[i]!;
      const w = await c.watch().prefix(m.prefix).create();
      w.on('put', (kv) => {
        const t = now();
        r.record(t, kv.value.toString());
        received(r);
      });
      return w;
    }),
  );
  closers = [
    async () => {
      await Promise.all(watchers.map((w) => w.cancel()));
      clients.forEach((c) => c.close());
    },
  ];
  send({ type: 'ready', clients: watchers.length, ms: performance.now() - t0 });
}

process.on('message', (raw) => {
  const m = raw as ToWorker;
  const fail = (err: unknown) => send({ type: 'fatal', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  switch (m.type) {
    case 'ws':
      openSockets(m).catch(fail);
      return;
    case 'etcd':
      openWatches(m).catch(fail);
      return;
    case 'collect':
      if (!reported) report(false);
      return;
    case 'close':
      Promise.all(closers.splice(0).map((c) => c()))
        .then(() => send({ type: 'closed' }))
        .catch(fail);
      return;
    case 'exit':
      process.exit(0);
      return;
    default: {
      const never: never = m;
      fail(new Error(`unknown message ${JSON.stringify(never)}`));
    }
  }
});
