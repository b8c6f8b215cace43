// Serves the live view: the page at `/` and its script at `/ui/app.js`, from the bundle built
// as the controller starts (kept in memory: it is about 0.5 MB and never changes while running).
import { readFile } from 'node:fs/promises';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { ensureWebBundle } from './build.js';
import { PAGE_HTML } from './page.js';

export async function registerPage(app: FastifyInstance, log: FastifyBaseLogger): Promise<void> {
  let script: Buffer | undefined;
  let failure: string | undefined;
  try {
    const { path, built } = await ensureWebBundle();
    if (built) log.info({ path }, 'built the live view bundle');
    script = await readFile(path);
  } catch (err) {
    // The API must come up even if the page cannot be built; the page says why.
    failure = String(err);
    log.error({ err: failure }, 'cannot build the live view page; / will answer 500');
  }
  app.get('/', async (_req, reply) => {
    if (!script) return reply.code(500).type('text/plain').send(`the live view could not be built: ${failure}`);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(PAGE_HTML);
  });
  app.get('/ui/app.js', async (_req, reply) => {
    if (!script) return reply.code(500).type('text/plain').send(`the live view could not be built: ${failure}`);
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(script);
  });
}
