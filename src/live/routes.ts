// The live view's HTTP side inside /v1 (authenticated by the API's hook): the snapshot the page
// starts from, and a plain GET of the watch URL, which needs an upgrade.
import type { FastifyInstance } from 'fastify';
import type { LiveHub } from './hub.js';
import { WATCH_PATH } from './ws-server.js';

export function registerLiveRoutes(v1: FastifyInstance, hub: LiveHub): void {
  v1.get('/topology', async (req, reply) => {
    if (!hub.ready) return reply.code(503).header('retry-after', '2').type('application/problem+json').send({ type: 'about:blank', title: 'Service unavailable', status: 503, detail: 'the controller is loading intent; retry shortly' });
    return hub.topology(req.principal);
  });
  v1.get('/watch', async (_req, reply) =>
    reply
      .code(426)
      .header('upgrade', 'websocket')
      .type('application/problem+json')
      .send({ type: 'about:blank', title: 'Upgrade required', status: 426, detail: `${WATCH_PATH} is a WebSocket: connect with Upgrade: websocket` }),
  );
}
