// /metrics on a listener of its own, without a token (`weft controller --metrics-listen`), for a
// Prometheus that scrapes over a trusted network (loopback by default). It serves nothing else
// and reads nothing from the request but its method and path.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { statusProblem } from './problem.js';

export interface MetricsServer {
  /** http://host:port */
  url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(registry: Registry, listen: { host: string; port: number }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const problem = (status: number, detail: string) => {
      const body = JSON.stringify(statusProblem(status, detail, path.slice(0, 512)));
      res.writeHead(status, { 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(body), ...(status === 405 ? { allow: 'GET, HEAD' } : {}) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path !== '/metrics') return problem(404, 'this listener serves only /metrics');
    if (req.method !== 'GET' && req.method !== 'HEAD') return problem(405, `${req.method} is not allowed on /metrics`);
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => problem(500, 'the metrics could not be collected; see the controller log'),
    );
  });
  // Malformed requests get a problem too, like the API's.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return socket.destroy();
    const body = JSON.stringify(statusProblem(400, 'the request is not valid HTTP/1.1'));
    socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    url: `http://${host}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
