// GET /v1/controllers: every live controller replica (admin only: it names addresses).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { authorize } from '../auth/index.js';
import type { ReplicaList } from '../replicas/index.js';
import { parseOrThrow } from './resource-routes.js';

/** Where the list comes from: read from etcd on each request, so every replica answers the same. */
export interface ControllerDirectory {
  list(): Promise<ReplicaList>;
}

const NoQuery = z.strictObject({});

export function registerControllerRoutes(app: FastifyInstance, controllers: ControllerDirectory): void {
  app.get('/controllers', async (req) => {
    authorize(req.principal, { tenantAllowed: false });
    parseOrThrow(NoQuery, req.query, ['query']);
    return controllers.list();
  });
}
