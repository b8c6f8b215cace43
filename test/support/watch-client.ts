// A /v1/watch client for tests: records every message and the close, and waits on conditions
// with deadlines.
import WebSocket from 'ws';
import type { ServerMessage } from '../../src/live/index.js';

export interface WatchOpen {
  /** Sent as Authorization: Bearer; otherwise `authMessage` is sent first. */
  header?: string;
  authMessage?: Record<string, unknown>;
  resume?: string;
  epoch?: string;
}

export class WatchClient {
  readonly messages: ServerMessage[] = [];
  closed?: { code: number; reason: string };
  private readonly waiters = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)) as ServerMessage);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  static async open(baseUrl: string, o: WatchOpen = {}): Promise<WatchClient> {
    const url = new URL('/v1/watch', baseUrl.replace(/^http/, 'ws'));
    if (o.resume) url.searchParams.set('resume', o.resume);
    if (o.epoch) url.searchParams.set('epoch', o.epoch);
    const ws = new WebSocket(url, { headers: o.header ? { authorization: `Bearer ${o.header}` } : {} });
    const client = new WatchClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
    if (o.authMessage) ws.send(JSON.stringify(o.authMessage));
    return client;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves with the first value `check` returns truthy for, re-checked on every message. */
  until<T>(what: string, check: (c: WatchClient) => T | undefined | false, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const run = () => {
        const v = check(this);
        if (v) {
          done();
          resolve(v);
        } else if (this.closed && !what.includes('close')) {
          done();
          reject(new Error(`closed (${this.closed.code} ${this.closed.reason}) while waiting for ${what}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last messages: ${JSON.stringify(this.messages.slice(-3)).slice(0, 600)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(run);
      };
      this.waiters.add(run);
      run();
    });
  }

  /** Messages of the replayed kinds (those with a cursor). */
  events(): Extract<ServerMessage, { cursor: string; revision: number }>[] {
    return this.messages.filter((m): m is Extract<ServerMessage, { cursor: string; revision: number }> => 'cursor' in m && 'revision' in m);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.ws.close();
    return this.until('close', (c) => !!c.closed).then(() => undefined);
  }
}
