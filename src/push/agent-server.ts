// The agent-facing gRPC server: Join over TLS (server certificate only), Session over mutual
// TLS. It listens on host:port or on a unix socket path, which lab hosts in other network
// namespaces can reach while the controller listens only on loopback.
import { X509Certificate } from 'node:crypto';
import { rm } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { ForbiddenError, ValidationError, WeftError } from '../errors/index.js';
import type { Pki } from '../pki/index.js';
import { SERVER_CHANNEL_OPTIONS, PROTOCOL_VERSION, negotiateProtocol, loadProtocol, type AgentMessage, type AgentServiceHandlers, type ControllerMessage, type PathReport, type RenewRequest } from '../protocol/index.js';
import type { Logger, Store } from '../store/index.js';
import type { AgentSink, ProgramDistributor } from './distributor.js';
import { AgentMessageMetrics, SessionScreen, joinProblem, screenedService } from './agent-messages.js';
import { admitHost } from './join.js';
import { leaveHost } from './leave.js';
import { bindUnboundKey, renewCertificate } from './renewal.js';
import { SessionGuard } from './session-guard.js';

export interface AgentServerOptions {
  /** `host:port` or `unix:/path/to.sock`. */
  listen: string;
  pki: Pki;
  store: Store;
  distributor: ProgramDistributor;
  log: Logger;
  version: string;
  /** How long a new session may take to say hello. */
  helloTimeoutMs?: number;
  /** Receives the agents' path reports (after their hello). */
  onPathReport?(host: string, report: PathReport): void;
  /** Where the boundary counts refused and dropped agent messages. */
  registry?: Registry;
}

export interface AgentServer {
  /** The address agents dial (`host:port` with the real port, or `unix:/path`). */
  address: string;
  stop(): Promise<void>;
}

function credentials(pki: Pki): grpc.ServerCredentials {
  // Client certificates are requested but not required at the TLS layer, so that Join works
  // before a host has one; Session checks the certificate itself and refuses without it.
  // Listeners are told asynchronously: grpc-js registers its own watcher only after adding them.
  const provider: grpc.experimental.CertificateProvider = {
    addCaCertificateListener: (l) => setImmediate(() => l({ caCertificate: Buffer.from(pki.caPem) })),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (l) => setImmediate(() => l({ certificate: Buffer.from(pki.serverChainPem), privateKey: Buffer.from(pki.serverKeyPem) })),
    removeIdentityCertificateListener: () => undefined,
  };
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

const statusOf = (err: unknown): Partial<grpc.StatusObject> =>
  err instanceof WeftError ? { code: err.grpcCode, details: err.message } : { code: grpc.status.INTERNAL, details: `internal error: ${String(err)}` };

export async function startAgentServer(opts: AgentServerOptions): Promise<AgentServer> {
  const proto = loadProtocol();
  const server = new grpc.Server(SERVER_CHANNEL_OPTIONS);
  const messageMetrics = opts.registry ? new AgentMessageMetrics(opts.registry) : undefined;
  const { log, distributor, store, pki } = opts;
  const guard = new SessionGuard(store.cache, log);

  const handlers: AgentServiceHandlers = {
    Join: (call, cb) => {
      const req = call.request;
      // Every field is checked (the key parsed) before a token, a host or a use is touched.
      const bad = joinProblem(req);
      if (bad) {
        messageMetrics?.refused.inc({ reason: 'invalid-join' });
        log.warn({ err: bad.details.slice(0, 300) }, 'join refused');
        return cb(bad);
      }
      admitHost(req, { store, pki }).then(
        (res) => {
          log.info({ host: res.hostName, site: res.site }, 'host joined');
          cb(null, res);
        },
        (err) => {
          log.warn({ host: req.hostName, err: String(err) }, 'join refused');
          cb(statusOf(err));
        },
      );
    },
    Session: (call) => session(call),
    Leave: (call, cb) => {
      leaveHost(call.getAuthContext().sslPeerCertificate?.raw, call.request, { store, pki }).then(
        (res) => {
          log.info({ host: res.hostName, deleted: res.deleted }, res.deleted ? 'host left; deleted' : 'host left; kept, marked left');
          cb(null, res);
        },
        (err: unknown) => {
          log.warn({ err: String(err) }, 'leave refused');
          cb(statusOf(err));
        },
      );
    },
  };
  server.addService(screenedService(proto.weft.agent.v1.AgentService.service), handlers);

  function session(call: grpc.ServerDuplexStream<AgentMessage, ControllerMessage>): void {
    const fail = (code: grpc.status, details: string) => {
      call.emit('error', { code, details });
    };
    const raw = call.getAuthContext().sslPeerCertificate?.raw;
    // grpc-js shows only certificates TLS verified (our CA, in date): an expired one looks absent.
    if (!raw) return fail(grpc.status.UNAUTHENTICATED, 'a valid client certificate is required (none was presented, or it expired or is not from this controller\'s CA): run "weft agent join"');
    const verdict = pki.verifyClientCertificate(new X509Certificate(raw));
    if ('error' in verdict) return fail(grpc.status.UNAUTHENTICATED, verdict.error);
    const host = verdict.host;
    let open = true;
    // Registered for revocation: the Host's deletion, re-creation or re-key closes it at once.
    const guarded = guard.admit(verdict, (reason) => {
      if (!open) return;
      open = false;
      fail(grpc.status.PERMISSION_DENIED, reason);
    });
    if ('refused' in guarded) return fail(grpc.status.PERMISSION_DENIED, guarded.refused);
    bindUnboundKey(store, guarded).catch((err: unknown) => log.warn({ host, err: String(err) }, 'cannot bind the host to its key'));
    const renew = (req: RenewRequest) =>
      renewCertificate(guarded, req, { store, pki, guard }).then(
        (res) => {
          if ('dropped' in res) return log.warn({ host, reason: res.dropped }, 'certificate renewal dropped');
          sink.send({ certificate: res, body: 'certificate' });
          log.info({ host }, 'client certificate renewed');
        },
        (err: unknown) => {
          log.warn({ host, err: String(err) }, 'certificate renewal refused');
          // A bad key or a host the session no longer speaks for ends the session; anything
          // else (etcd away) leaves it open and the agent asks again later.
          if ((err instanceof ValidationError || err instanceof ForbiddenError) && open) {
            open = false;
            const st = statusOf(err);
            fail(st.code!, st.details!);
          }
        },
      );
    const sink: AgentSink = {
      send: (msg) => {
        if (open) call.write(msg);
      },
      close: (reason) => {
        if (!open) return;
        open = false;
        fail(grpc.status.ABORTED, reason);
      },
    };
    const helloTimer = setTimeout(() => sink.close('no hello within the time allowed'), opts.helloTimeoutMs ?? 10_000);
    let greeted = false;
    const screen = new SessionScreen(messageMetrics);
    const endSession = (code: grpc.status, details: string) => {
      if (!open) return;
      open = false;
      fail(code, details);
    };
    call.on('data', (raw: AgentMessage) => {
      // Checked before anything acts on it, and nothing an agent sends may throw out of here:
      // the worst a message can do is end its own session.
      if (!open) return;
      let handler = 'screen';
      try {
        const screened = screen.screen(raw, { greeted, sentGeneration: () => distributor.book.generationOf(host) });
        if ('refuse' in screened) {
          log.warn({ host, err: screened.refuse.details.slice(0, 300) }, 'agent message refused; ending its session');
          return endSession(screened.refuse.code, screened.refuse.details);
        }
        if ('drop' in screened) return;
        const m = screened.act;
        handler = m.hello ? 'hello' : m.ack ? 'ack' : m.pathReport ? 'pathReport' : 'renew';
        if (m.hello) {
          clearTimeout(helloTimer);
          const version = negotiateProtocol(m.hello.protocolVersion);
          if (version === undefined) {
            open = false;
            return fail(grpc.status.FAILED_PRECONDITION, `agent protocol version ${m.hello.protocolVersion} is too far from this controller's ${PROTOCOL_VERSION} (one apart at most); upgrade one step at a time`);
          }
          greeted = true;
          const program = distributor.connect(host, m.hello, sink);
          sink.send({ welcome: { protocolVersion: version, controllerVersion: opts.version, hostName: host }, body: 'welcome' });
          sink.send({ program, body: 'program' });
          log.info({ host, protocolVersion: version, generation: program.generation, segments: program.segments.length, applied: m.hello.appliedGeneration }, 'agent connected');
        } else if (m.ack && greeted) {
          distributor.ack(host, m.ack);
        } else if (m.pathReport && greeted) {
          opts.onPathReport?.(host, m.pathReport);
        } else if (m.renew && greeted) {
          void renew(m.renew);
        }
      } catch (err) {
        messageMetrics?.failed.inc({ handler });
        log.error({ host, handler, err: String(err) }, 'handling an agent message failed; ending its session');
        endSession(grpc.status.INTERNAL, `the controller could not handle this ${handler} message`);
      }
    });
    const gone = () => {
      clearTimeout(helloTimer);
      if (greeted) log.info({ host }, 'agent disconnected');
      open = false;
      guarded.release();
      distributor.disconnect(host, sink);
    };
    call.on('end', () => {
      gone();
      call.end();
    });
    call.on('error', gone);
    call.on('cancelled', gone);
  }

  const target = opts.listen;
  if (target.startsWith('unix:')) await rm(target.slice('unix:'.length), { force: true });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(target, credentials(pki), (err, p) => (err ? reject(err) : resolve(p))));
  const address = target.startsWith('unix:') ? target : target.replace(/:\d+$/, `:${port}`);
  return {
    address,
    stop: () =>
      new Promise<void>((resolve) => {
        guard.stop();
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
}
