// Test harness: a loopback TCP proxy that delays everything the server sends back by a fixed
// time, like a replica on a slow link to etcd. Its watch then lags the cluster, which is what a
// read-your-writes test needs to catch a read served from a cache that has not caught up.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface LaggingProxy {
  /** `http://127.0.0.1:PORT`, to use instead of the upstream's endpoint. */
  endpoint: string;
  close(): Promise<void>;
}

/** Proxies to `upstream` (`http://host:port`), delaying upstream-to-client bytes by `delayMs`. */
export async function startLaggingProxy(upstream: string, delayMs: number): Promise<LaggingProxy> {
  const { hostname, port } = new URL(upstream);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const up = createConnection({ host: hostname, port: Number(port) });
    sockets.add(client).add(up);
    client.pipe(up);
    // Same delay for every chunk: timers of equal length fire in order, so bytes stay in order.
    up.on('data', (chunk) => void setTimeout(() => client.destroyed || client.write(chunk), delayMs));
    const end = () => {
      client.destroy();
      up.destroy();
      sockets.delete(client);
      sockets.delete(up);
    };
    client.on('close', end).on('error', end);
    up.on('close', () => setTimeout(end, delayMs)).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
