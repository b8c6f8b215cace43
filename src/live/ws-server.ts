// GET /v1/watch: the WebSocket upgrade, authentication (the REST API's bearer token, in the
// Authorization header or, for browsers that cannot set headers, in a first "auth" message)
// and the hand-over to the hub. Tokens are never taken from the URL: URLs end up in logs.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { bearerToken, type Principal } from '../auth/index.js';
import { WeftError } from '../errors/index.js';
import type { LiveSocket } from './client.js';
import type { LiveHub, Resume } from './hub.js';
import { CLOSE, type ClientMessage } from './protocol.js';
import { parseCursor } from './ring.js';

export const WATCH_PATH = '/v1/watch';

export interface WatchOptions {
  hub: LiveHub;
  /** The REST API's token check; throws a WeftError when the token is not valid. */
  principalFor(token: string): Principal;
  /** How long a connection may stay without authenticating. */
  authTimeoutMs?: number;
  /** Pings this often; a client that has not answered the previous one is dropped. */
  heartbeatMs?: number;
}

function refuse(socket: Duplex, status: number, title: string, detail: string): void {
  const body = JSON.stringify({ type: 'about:blank', title, status, detail });
  const challenge = status === 401 ? 'WWW-Authenticate: Bearer realm="weft"\r\n' : '';
  socket.end(`HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${challenge}Connection: close\r\n\r\n${body}`);
}

function parseMessage(data: unknown): ClientMessage | undefined {
  try {
    const m = JSON.parse(String(data)) as Partial<ClientMessage>;
    if (m?.type !== 'auth' || typeof m.token !== 'string') return undefined;
    if (m.resume !== undefined && (typeof m.resume !== 'string' || !parseCursor(m.resume))) return undefined;
    if (m.epoch !== undefined && typeof m.epoch !== 'string') return undefined;
    return m as ClientMessage;
  } catch {
    return undefined;
  }
}

/** Serves /v1/watch on the API's HTTP server; returns a function that closes every socket. */
export function attachWatch(server: Server, opts: WatchOptions): () => Promise<void> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 });
  const authTimeoutMs = opts.authTimeoutMs ?? 10_000;
  const alive = new WeakMap<WebSocket, boolean>();

  const start = (ws: WebSocket, raw: Duplex, p: Principal, resume?: Resume) => {
    // The hub corks the TCP socket under the WebSocket to batch a tick's frames into one write.
    const socket: LiveSocket = {
      send: (data, cb) => ws.send(data, cb),
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
      close: (code, reason) => ws.close(code, reason),
      terminate: () => ws.terminate(),
      cork: () => raw.cork(),
      uncork: () => raw.uncork(),
    };
    const client = opts.hub.connect(socket, p, resume);
    ws.on('close', () => client.end('closed'));
    // After authentication the client has nothing more to say.
    ws.on('message', () => ws.close(CLOSE.protocol, 'no messages are expected after auth'));
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    let url: URL;
    try {
      // The path is taken as given ('//x' is a path here, not a host).
      url = new URL(`http://localhost${req.url?.startsWith('/') ? req.url : '/'}`);
    } catch {
      return refuse(socket, 400, 'Bad request', 'the request target is not a valid URL');
    }
    if (url.pathname !== WATCH_PATH) {
      // As over plain HTTP: under /v1, a 401 comes before a 404, so paths cannot be probed.
      if (url.pathname === '/v1' || url.pathname.startsWith('/v1/')) {
        try {
          opts.principalFor(bearerToken(req.headers.authorization));
        } catch (err) {
          return refuse(socket, 401, 'Unauthorized', err instanceof Error ? err.message : 'the token is not valid');
        }
      }
      return refuse(socket, 404, 'Not found', `no WebSocket at ${url.pathname.slice(0, 512)}`);
    }
    if (url.searchParams.has('token')) return refuse(socket, 400, 'Bad request', 'tokens are not accepted in the URL: send the Authorization header or an auth message');
    const resumeParam = url.searchParams.get('resume') ?? undefined;
    if (resumeParam !== undefined && !parseCursor(resumeParam)) return refuse(socket, 400, 'Bad request', `resume: "${resumeParam}" is not a cursor`);
    if (!opts.hub.ready) return refuse(socket, 503, 'Service unavailable', 'the controller is loading intent; retry shortly');
    let principal: Principal | undefined;
    const header = req.headers.authorization;
    if (header) {
      try {
        principal = opts.principalFor(bearerToken(header));
      } catch (err) {
        return refuse(socket, 401, 'Unauthorized', err instanceof Error ? err.message : 'the token is not valid');
      }
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      alive.set(ws, true);
      ws.on('pong', () => alive.set(ws, true));
      ws.on('error', () => ws.terminate());
      const resume = resumeParam !== undefined ? { cursor: resumeParam, epoch: url.searchParams.get('epoch') ?? undefined } : undefined;
      if (principal) return start(ws, socket, principal, resume);
      const timer = setTimeout(() => ws.close(CLOSE.unauthenticated, 'authenticate first: {"type":"auth","token":"…"}'), authTimeoutMs);
      ws.once('message', (data) => {
        clearTimeout(timer);
        const msg = parseMessage(data);
        if (!msg) return ws.close(CLOSE.protocol, 'the first message must be {"type":"auth","token":"…"}');
        let p: Principal;
        try {
          p = opts.principalFor(msg.token);
        } catch (err) {
          return ws.close(CLOSE.unauthenticated, err instanceof WeftError ? err.message : 'the token is not valid');
        }
        start(ws, socket, p, msg.resume !== undefined ? { cursor: msg.resume, epoch: msg.epoch } : resume);
      });
      ws.on('close', () => clearTimeout(timer));
    });
  });

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.get(ws)) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, opts.heartbeatMs ?? 30_000).unref();

  return async () => {
    clearInterval(heartbeat);
    const open = [...wss.clients];
    const closed = open.map((ws) => new Promise<void>((r) => ws.once('close', () => r())));
    for (const ws of open) ws.close(CLOSE.goingAway, 'controller stopping');
    // A client that does not answer the close handshake is cut off.
    const timer = setTimeout(() => open.forEach((ws) => ws.terminate()), 500);
    await Promise.all(closed);
    clearTimeout(timer);
    wss.close();
  };
}
