// A raw HTTP/1.1 client for hostile requests: sends exactly the bytes given (bad escapes,
// non-ASCII paths, odd methods and headers that fetch would refuse or rewrite) over one
// connection with `Connection: close`, and parses whatever comes back.
import { connect } from 'node:net';

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The connection closed without any response. */
  empty: boolean;
}

export interface RawRequest {
  method: string;
  /** The request target, sent as given (may hold any byte). */
  target: string | Buffer;
  headers?: [string, string | Buffer][];
  body?: Buffer | string;
}

export async function rawRequest(baseUrl: string, r: RawRequest, timeoutMs = 15_000): Promise<RawReply> {
  const u = new URL(baseUrl);
  const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
  const lines: Buffer[] = [Buffer.from(`${r.method} `), Buffer.isBuffer(r.target) ? r.target : Buffer.from(r.target), Buffer.from(` HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n`)];
  for (const [k, v] of r.headers ?? []) lines.push(Buffer.from(`${k}: `), Buffer.isBuffer(v) ? v : Buffer.from(v), Buffer.from('\r\n'));
  if (body !== undefined) lines.push(Buffer.from(`Content-Length: ${body.length}\r\n`));
  lines.push(Buffer.from('\r\n'));
  if (body !== undefined) lines.push(body);
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (d) => chunks.push(d));
    // The server may answer and close before reading the whole body: keep what came.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    // Written, not half-closed: Node's HTTP server aborts requests still being answered when the
    // client half-closes, and any read waits for etcd first. `Connection: close` ends it.
    socket.write(Buffer.concat(lines));
  });
  return parseResponse(raw);
}

function parseResponse(raw: Buffer): RawReply {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: raw, empty: true };
  const [statusLine, ...headerLines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of headerLines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (headers['transfer-encoding']?.includes('chunked')) body = dechunk(body);
  return { status, headers, body, empty: false };
}

function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(b.subarray(i, eol).toString(), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(b.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}
