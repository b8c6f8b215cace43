// The agent-facing gRPC server: Join over TLS (server certificate only), Session over mutual
// TLS. It listens on host:port or on a unix socket path, which lab hosts in other network
// namespaces can reach while the controller listens only on loopback.
import { X509Certificate } from 'node:crypto';
import { rm } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { WeftError } from '../errors/index.js';
import type { Pki } from '../pki/index.js';
import { CHANNEL_OPTIONS, PROTOCOL_VERSION, negotiateProtocol, loadProtocol, type AgentMessage, type AgentServiceHandlers, type ControllerMessage, type PathReport } from '../protocol/index.js';
import type { Logger, Store } from '../store/index.js';
import type { AgentSink, ProgramDistributor } from './distributor.js';
import { admitHost } from './join.js';

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
  const server = new grpc.Server(CHANNEL_OPTIONS);
  const { log, distributor, store, pki } = opts;

  const handlers: AgentServiceHandlers = {
    Join: (call, cb) => {
      const req = call.request;
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
  };
  server.addService(proto.weft.agent.v1.AgentService.service, handlers);

  function session(call: grpc.ServerDuplexStream<AgentMessage, ControllerMessage>): void {
    const fail = (code: grpc.status, details: string) => {
      call.emit('error', { code, details });
    };
    const raw = call.getAuthContext().sslPeerCertificate?.raw;
    if (!raw) return fail(grpc.status.UNAUTHENTICATED, 'a client certificate is required: run "weft agent join" first');
    const verdict = pki.verifyClientCertificate(new X509Certificate(raw));
    if ('error' in verdict) return fail(grpc.status.UNAUTHENTICATED, verdict.error);
    const host = verdict.host;
    if (!store.cache.get({ kind: 'Host', name: host })) return fail(grpc.status.PERMISSION_DENIED, `host ${host} no longer exists; join again`);
    let open = true;
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
    call.on('data', (m: AgentMessage) => {
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
        log.info({ host, generation: program.generation, segments: program.segments.length, applied: m.hello.appliedGeneration }, 'agent connected');
      } else if (m.ack && greeted) {
        distributor.ack(host, m.ack);
      } else if (m.pathReport && greeted) {
        opts.onPathReport?.(host, m.pathReport);
      }
    });
    const gone = () => {
      clearTimeout(helloTimer);
      if (greeted) log.info({ host }, 'agent disconnected');
      open = false;
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
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
}
