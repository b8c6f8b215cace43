// The controller process: etcd (embedded or external), the intent cache and store, the health
// probe, and the REST API. start() returns once the API listens; it serves 503 until etcd answers.
// Start-up itself waits for etcd once, to adopt the cluster's CA and admin token (cluster-identity.ts).
import { WEFT_VERSION } from '../version/index.js';
import { readFile } from 'node:fs/promises';
import type { Etcd3 } from 'etcd3';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { ApiMetrics, buildApi, startMetricsServer } from '../api/index.js';
import { LiveHub, liveLimitsFromEnv } from '../live/index.js';
import { ETCD_CALL_TIMEOUT_MS, IntentCache, ProgrammedWatch, ReadBarrier, Store, callOptions, connectEtcd } from '../store/index.js';
import type { PathBook, PathMetricsMode } from '../paths/index.js';
import { LoopStall } from './loop-stall.js';
import { PathHealth } from './path-health.js';
import { NetworkStatusReconciler } from './network-status.js';
import { EndpointMoves } from './endpoint-moves.js';
import { programmedPublishMetrics, statusMetrics } from './status-metrics.js';
import { adoptClusterIdentity } from './cluster-identity.js';
import { ProgramDistributor, ProgrammedPublisher, hostAddressStatus, startAgentServer, type AgentServer } from '../push/index.js';
import { MergedProgramState, PublishedPrograms } from './merged-programs.js';
import type { Host } from '../model/index.js';
import { startEmbeddedEtcd, type EmbeddedEtcd } from '../etcd/index.js';
import { newReplicaId, periodicTask, Replica, replicaMetrics } from '../replicas/index.js';

export { WEFT_VERSION };

export interface ControllerOptions {
  /** host:port for the REST API; port 0 picks a free one. */
  listen: { host: string; port: number };
  stateDir: string;
  /** External etcd; when absent an embedded single-member etcd runs under the state dir. */
  etcdEndpoints?: string[];
  etcdTls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** The leader lease TTL to ask etcd for, whole seconds (etcd may grant more). Default 2. */
  leaderLeaseTtlSeconds?: number;
  adminToken?: string;
  /** Where agents connect: host:port or unix:/path. No agent server when absent. */
  agentListen?: string;
  logger?: Logger;
  bodyLimit?: number;
  /** How long a gone agent's paths live on (in memory as unknown, in etcd by lease). Default 15. */
  pathTtlSeconds?: number;
  /** Also serve /metrics without a token on this address (the API's /metrics needs the admin token). */
  metricsListen?: { host: string; port: number };
  /** Path metrics: per-plane aggregates only (default; bounded at any fleet size), or also per pair. */
  pathMetrics?: PathMetricsMode;
}

const PROBE_INTERVAL_MS = 1000;
/** How often the leader looks for tenant deletes left unfinished (a failed run, a dead replica). */
const TENANT_DELETION_SWEEP_MS = 30_000;
const PROBE_DEADLINE_MS = 2 * PROBE_INTERVAL_MS;
/** A loop stall this long during a failed etcd call makes the failure no evidence about etcd. */
const STALL_MS = PROBE_DEADLINE_MS / 4;

export class Controller {
  private probeTimer?: NodeJS.Timeout;
  private requestProbe?: () => void;
  private readonly stall = new LoopStall();
  private etcdUp = false;
  private cacheLoaded = false;
  private stopped = false;

  private constructor(
    readonly url: string,
    readonly adminTokenSource: string,
    readonly etcdEndpoint: string,
    private readonly app: FastifyInstance,
    private readonly etcd: Etcd3,
    private readonly cache: IntentCache,
    private readonly log: Logger,
    private readonly reconciler: NetworkStatusReconciler,
    private readonly distributor: ProgramDistributor,
    private readonly supervisor?: EmbeddedEtcd,
  ) {}

  /** The agent server's address, when it runs. */
  agentAddress?: string;
  /** The tokenless /metrics listener's URL, when it runs. */
  metricsUrl?: string;
  private agentServer?: AgentServer;
  /** This process among the controller replicas on its etcd. */
  replica?: Replica;
  /** Live path health from the agents' probes. */
  paths!: PathBook;
  private readonly closers: (() => void)[] = [];

  static async start(opts: ControllerOptions): Promise<Controller> {
    // Every line names the replica: with several controllers on one etcd, logs interleave.
    const replicaId = newReplicaId();
    const log = (opts.logger ?? pino({ name: 'weft-controller' })).child({ replica: replicaId });
    let supervisor: EmbeddedEtcd | undefined;
    let endpoints = opts.etcdEndpoints;
    if (!endpoints?.length) {
      supervisor = await startEmbeddedEtcd(opts.stateDir, log);
      endpoints = [supervisor.endpoint];
    }
    const tls = opts.etcdTls;
    const etcd = connectEtcd({
      endpoints,
      tls: tls?.caFile
        ? { ca: await readFile(tls.caFile), cert: tls.certFile ? await readFile(tls.certFile) : undefined, key: tls.keyFile ? await readFile(tls.keyFile) : undefined }
        : undefined,
    });
    const agentHost = opts.agentListen && !opts.agentListen.startsWith('unix:') ? opts.agentListen.replace(/:\d+$/, '').replace(/^\[|\]$/g, '') : undefined;
    // Replicas share one CA and admin token, kept in etcd: adopted before anything serves.
    const { admin, pki } = await adoptClusterIdentity(etcd, opts.stateDir, opts.adminToken, agentHost ? [agentHost] : [], log).catch(async (err: unknown) => {
      etcd.close();
      await supervisor?.stop();
      throw err;
    });
    const cache = new IntentCache(etcd, log);
    let controller: Controller | undefined;
    const metrics = new ApiMetrics(
      (kind) => cache.list(kind).length,
      () => cache.revision,
    );
    const store = new Store(etcd, cache, log, metrics, () => controller?.storeFoundEtcdUnreachable());
    let distributor: ProgramDistributor | undefined;
    const pathHealth = new PathHealth(etcd, log, metrics.registry, opts.pathTtlSeconds ?? 15, (host) => distributor?.book.segmentsOf(host) ?? [], opts.pathMetrics);
    const paths = pathHealth.book;
    const live = new LiveHub(cache, log, liveLimitsFromEnv());
    const replica = new Replica({
      etcd,
      log,
      id: replicaId,
      version: WEFT_VERSION,
      apiUrl: () => controller?.url ?? '',
      agentAddress: () => controller?.agentAddress,
      agentCount: () => distributor?.connectedHosts().length ?? 0,
      leaseTtlSeconds: opts.leaderLeaseTtlSeconds,
    });
    replicaMetrics(metrics.registry, replica);
    const app = await buildApi({
      controllers: replica,
      live,
      store,
      adminToken: admin.token,
      logger: log,
      metrics,
      version: WEFT_VERSION,
      bodyLimit: opts.bodyLimit,
      joinTokenCaHash: pki.caHash,
      paths,
      reads: new ReadBarrier(etcd, cache),
      health: {
        etcdUp: () => controller?.etcdUp ?? false,
        ready: () => !!controller && controller.etcdUp && controller.cacheLoaded,
      },
    });
    const address = await app.listen({ host: opts.listen.host, port: opts.listen.port });
    const metricsServer = opts.metricsListen ? await startMetricsServer(metrics.registry, opts.metricsListen) : undefined;
    let moves: EndpointMoves | undefined;
    let reconciler: NetworkStatusReconciler | undefined;
    // Acks of agents connected here, published for the leader's status (which merges them).
    let publisher: ProgrammedPublisher | undefined;
    const hostState = (host: string, state: 'ready' | 'unreachable', extra: Record<string, unknown> = {}) =>
      store
        .updateStatus<'Host'>({ kind: 'Host', name: host }, (status, h) => ({ ...status, ...extra, state: status.state === 'left' ? 'left' : (h as Host).spec.drain ? 'draining' : state, lastSeen: new Date().toISOString() }))
        .catch((err) => log.warn({ host, err: String(err) }, 'cannot record host state'));
    distributor = new ProgramDistributor(cache, log, {
      onProgramState: (segments) => {
        reconciler?.segmentsChanged(segments);
        publisher?.segmentsChanged(segments);
        moves?.segmentsChanged(segments);
      },
      onNetworksCompiled: (networks) => {
        reconciler?.networksCompiled(networks);
        moves?.networksCompiled(networks);
      },
      onConnect: (host, hello) => {
        const site = (cache.get({ kind: 'Host', name: host }) as Host | undefined)?.spec.site ?? '';
        publisher?.hostChanged(host);
        void hostState(host, 'ready', { agentVersion: hello.agentVersion, capabilities: hello.capabilities, addresses: hostAddressStatus(cache, site, hello.addresses) });
      },
      onAck: (host, generation, errors) => {
        live.ack(host, generation, errors);
        publisher?.hostChanged(host);
      },
      onDisconnect: (host) => {
        publisher?.hostChanged(host);
        void hostState(host, 'unreachable');
        pathHealth.hostGone(host);
      },
    });
    const connectedHere = (host: string) => distributor!.connected(host);
    // A drain or uncordon changes what a connected host's state says; the replica its agent is connected to writes it.
    const unsubscribeDrains = cache.subscribe((e) => {
      if (e.ref.kind !== 'Host' || e.type !== 'modified' || !connectedHere(e.ref.name)) return;
      if ((e.previous as Host | undefined)?.spec.drain !== (e.resource as Host).spec.drain) void hostState(e.ref.name, 'ready');
    });
    // Alone on the etcd (the last heartbeat counted only this replica), it leads and reads its own
    // book: nobody would read what it published. Before the first heartbeat the count is 0.
    const shared = () => replica.replicaCount !== 1;
    publisher = new ProgrammedPublisher({ etcd, log, replica: replicaId, book: distributor.book, connected: connectedHere, connectedHosts: () => distributor!.connectedHosts(), shared });
    // Status counts agents on every replica: this one's from the book, the others' as published.
    const published = new PublishedPrograms(replicaId);
    const programs = new MergedProgramState(distributor.book, connectedHere, published);
    reconciler = new NetworkStatusReconciler(cache, store, log, distributor, programs, paths);
    const book = distributor.book;
    moves = new EndpointMoves({ cache, store, log, programs, compiledRevision: () => book.revision });
    statusMetrics(metrics.registry, distributor, reconciler);
    programmedPublishMetrics(metrics.registry, publisher);
    controller = new Controller(address, admin.source, endpoints.join(','), app, etcd, cache, log, reconciler, distributor, supervisor);
    controller.paths = paths;
    if (metricsServer) {
      controller.metricsUrl = metricsServer.url;
      controller.closers.push(() => void metricsServer.close());
    }
    controller.closers.push(() => pathHealth.close(), unsubscribeDrains);
    controller.probe(metrics);
    controller.replica = replica;
    await controller.loadCache();
    live.start(paths);
    controller.closers.push(() => live.stop());
    distributor.start();
    if (opts.agentListen) {
      controller.agentServer = await startAgentServer({
        listen: opts.agentListen,
        pki,
        store,
        distributor,
        log,
        version: WEFT_VERSION,
        onPathReport: (host, report) => pathHealth.report(host, report),
        registry: metrics.registry,
      });
      controller.agentAddress = controller.agentServer.address;
    }
    // Registered once its addresses are known. What must run once runs on the leader only.
    // Each task starts with a full pass.
    const endpointMoves = moves;
    const status = reconciler;
    const programsPublisher = publisher;
    const unsubscribePublisher = cache.subscribe(() => programsPublisher.revisionMoved());
    programsPublisher.start();
    controller.closers.push(() => {
      unsubscribePublisher();
      void programsPublisher.stop();
    });
    let programsWatch: ProgrammedWatch | undefined;
    replica.start([
      // Before status, so its first pass already has what the other replicas published (or soon).
      // It only reads: a pause keeps it, rather than reload every host's entry when it resumes.
      {
        name: 'programmed-watch',
        readOnly: true,
        start: () => {
          programsWatch = new ProgrammedWatch(
            etcd,
            log,
            (c) => {
              const segments = published.apply(c);
              status.segmentsChanged(segments);
              endpointMoves.segmentsChanged(segments);
            },
            replicaId,
          );
          programsWatch.start();
        },
        stop: () => {
          programsWatch?.close();
          programsWatch = undefined;
          published.apply({ type: 'snapshot', entries: [], revisions: new Map() });
        },
      },
      { name: 'network-status', start: (fence) => status.start(fence), stop: () => status.stop() },
      // Endpoint moves advance their phase from the hosts' acks (compile/endpoint-move.ts).
      { name: 'endpoint-moves', start: (fence) => endpointMoves.start(fence), stop: () => endpointMoves.stop() },
      // Tenant deletes a stopped controller (or a failed run) left half done are finished.
      periodicTask('tenant-deletions', TENANT_DELETION_SWEEP_MS, () => store.resumeTenantDeletions()),
    ]);
    return controller;
  }

  /** Loads the cache, retrying until etcd answers; the API answers 503 meanwhile. */
  private async loadCache(): Promise<void> {
    for (let delay = 200; !this.stopped; delay = Math.min(delay * 2, 5000)) {
      try {
        await this.cache.start();
        this.cacheLoaded = true;
        this.etcdUp = true;
        return;
      } catch (err) {
        this.log.warn({ err: String(err), retryInMs: delay }, 'cannot load intent from etcd yet');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /**
   * The etcd-down decision comes from etcd, never from our own event loop being busy. A probe
   * failure counts only when the loop did not stall during it (a deadline that expired while
   * we were blocked parsing a large request says nothing about etcd; the probe just asks
   * again); two counted misses in a row, each allowed 2 s, mark etcd down.
   */
  private probe(metrics: ApiMetrics): void {
    let misses = 0;
    let running = false;
    let again = false;
    const tick = async () => {
      clearTimeout(this.probeTimer);
      if (running) {
        again = true;
        return;
      }
      running = true;
      again = false;
      const started = performance.now();
      let up = this.etcdUp;
      try {
        await this.etcd.maintenance.status(callOptions(PROBE_DEADLINE_MS));
        misses = 0;
        up = true;
      } catch (err) {
        // Let a stall-sampling tick that fell due meanwhile run before judging.
        await new Promise((r) => setImmediate(r));
        const stalled = this.stall.longestSince(started);
        if (stalled >= STALL_MS) {
          this.log.info({ stalledMs: Math.round(stalled), err: String(err) }, 'etcd probe failed while the event loop was stalled; not counted, probing again');
          again = true;
        } else {
          misses++;
          up = misses < 2 && this.etcdUp;
          if (up) again = true;
        }
      }
      if (up !== this.etcdUp) this.log[up ? 'info' : 'warn']({ etcd: this.etcdEndpoint }, up ? 'etcd is reachable' : 'etcd is unreachable; API answers 503');
      this.etcdUp = up;
      metrics.etcdUp.set(up ? 1 : 0);
      running = false;
      if (!this.stopped) this.probeTimer = setTimeout(tick, again ? 50 : PROBE_INTERVAL_MS);
    };
    this.requestProbe = () => {
      if (!this.stopped) void tick();
    };
    this.probeTimer = setTimeout(tick, 0);
  }

  /**
   * A store call found etcd unreachable. Believed at once (reads stop before the next probe)
   * unless our loop stalled lately, which alone can expire a deadline; a probe confirms either way.
   */
  private storeFoundEtcdUnreachable(): void {
    if (this.etcdUp && this.stall.longestSince(performance.now() - ETCD_CALL_TIMEOUT_MS) < STALL_MS) {
      this.log.warn({ etcd: this.etcdEndpoint }, 'etcd is unreachable; API answers 503');
      this.etcdUp = false;
    }
    this.requestProbe?.();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.probeTimer);
    this.stall.stop();
    // First, so another replica takes over the leader-only work at once.
    await this.replica?.stop();
    this.reconciler.stop();
    this.distributor.stop();
    await this.agentServer?.stop();
    for (const close of this.closers) close();
    await this.app.close();
    await this.cache.close();
    this.etcd.close();
    await this.supervisor?.stop();
  }
}
