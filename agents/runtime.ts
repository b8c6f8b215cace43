// The agent's loop. The controller's program is the desired state; the dataplane driver makes
// the kernel match it. Messages only update the desired state and ask for a flush; flushes are
// serialised and coalesced, and each is acknowledged with the generation it reflects. While the
// controller is away the dataplane is left as it is (traffic keeps flowing); drift is still
// repaired against the last program, on netlink events and on a timer. A delta applies only to
// the generation it was made from (version-2 controllers patch segments in place): one that does
// not fit means something was missed, and the agent reconnects for a full program.
//
// Replicas: the agent holds a list of controller addresses and keeps one session, with a
// replica picked at random (candidates.ts). When the session ends it tries another replica at
// once; it backs off only when every candidate has failed in a row. A new replica sends the
// full program; the flush is level-triggered, so a program equal to what the kernel has
// changes nothing there.
//
// Paths: the program's segments list the paths to probe. The prober's state changes go to
// the dataplane at once (multipath groups drop a failed plane without waiting for anyone) and
// to the controller at once; statistics go to the controller once a second.
//
// Certificate: at two thirds of its lifetime the agent asks for a new one over the session
// (controllers of protocol 2 and later), keeps its key, stores the certificate it gets and
// presents it from its next connection. An unanswered request is simply asked again later.
import { createPublicKey } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { PROTOCOL_VERSION, RENEWAL_PROTOCOL_VERSION, applyProgramDelta, boundAckErrors, type AgentMessage, type ControllerMessage, type ObjectError, type PathStatus, type ProbePath, type Segment } from '../src/protocol/index.js';
import { discoverAddresses } from './addresses.js';
import { netnsWatch } from './netns-watch.js';
import { roundOrder } from './candidates.js';
import { SESSION_KEEPALIVE, agentClient, keepaliveOptions, resolveCandidates, type Keepalive, type Lookup } from './dial.js';
import { AppliedGenerationFile } from './applied-generation.js';
import { loadAppliedGeneration, saveCertificate, type Identity } from './identity.js';
import { certValidity, renewalDelayMs, renewalRetryMs, renewedCertificateProblem } from './renewal.js';
import { MAX_WELCOME_WAIT_MS, nextWelcomeWait, type WelcomeWait } from './welcome-wait.js';

/** What the runtime needs from the dataplane (agents/dataplane implements it over netlink). */
export interface DataplaneDriver {
  /** Records the desired segments; programs nothing. */
  setDesired(segments: Segment[]): void;
  /** Observes the kernel, applies the difference, and returns what the kernel refused. */
  flush(): Promise<ObjectError[]>;
  /** Calls back (debounced) when owned kernel objects change; returns an unsubscribe. */
  watch(onDrift: () => void): () => void;
  capabilities(): Promise<Record<string, boolean>>;
  /** Records path health by "peer/plane"; programs nothing (the next flush uses it). */
  setPathHealth?(health: ReadonlyMap<string, PathHealth>): void;
  /** Makes multipath groups follow the recorded health at once, without a full flush. */
  applyPathHealth?(): Promise<unknown>;
  close(): void | Promise<void>;
}

export type PathHealth = 'up' | 'down' | 'unknown';

/** What the runtime needs from the path prober (agents/paths implements it). */
export interface PathProbing {
  setPaths(paths: ProbePath[]): void;
  /** Addresses to answer peers' probes on even before the program lists a path from them. */
  setResponderAddresses?(addresses: string[]): void;
  /** Called at once on every state change; returns an unsubscribe. */
  onChange(listener: (s: PathStatus) => void): () => void;
  stats(): PathStatus[];
  state(peer: string, plane: string): PathHealth;
  /** The prober's own capabilities for the Hello (kernel_probes), merged with the dataplane's. */
  capabilities?(): Promise<Record<string, boolean>>;
  close(): void;
}

export interface RuntimeLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RuntimeOptions {
  agentVersion: string;
  /** Periodic full reconcile, repairing anything an event missed. */
  resyncMs?: number;
  /** Backoff after every candidate failed in a row. */
  backoffMs?: { initial: number; max: number };
  /**
   * How long a candidate may first take to welcome a session before the next is tried; default
   * 10 s. Each wait that runs out doubles the next, up to `maxWelcomeTimeoutMs` (welcome-wait.ts).
   */
  welcomeTimeoutMs?: number;
  /** Default MAX_WELCOME_WAIT_MS. */
  maxWelcomeTimeoutMs?: number;
  /** Picks the replica order (numbers in [0, 1)); default Math.random. Tests pass a seeded one. */
  random?: () => number;
  /** Resolves DNS names among the controller addresses; default the system resolver. */
  lookup?: Lookup;
  /** How fast a silent controller is given up (SESSION_KEEPALIVE by default). */
  keepalive?: Keepalive;
  /** Probes the program's paths; without one, nothing is probed. */
  prober?: PathProbing;
  /** Period of path statistics reports; default 1000 ms. */
  statsIntervalMs?: number;
}

/** A session shorter than this does not count as a working replica (it keeps the backoff). */
const HEALTHY_SESSION_MS = 1000;

/** setTimeout's limit is 2^31-1 ms (24.8 days); a 90-day certificate renews later than that. */
const MAX_TIMER_MS = 6 * 3600 * 1000;

export class AgentRuntime {
  private desired = new Map<string, Segment>();
  private received = 0;
  private applied = 0;
  private haveProgram = false;
  private flushing?: Promise<void>;
  private again = false;
  private stopped = false;
  private call?: grpc.ClientDuplexStream<AgentMessage, ControllerMessage>;
  private client?: ReturnType<typeof agentClient>;
  private unwatch?: () => void;
  private resyncTimer?: NodeJS.Timeout;
  private readonly netns = netnsWatch(
    (name) => [...this.desired.values()].some((s) => s.attachments.some((a) => a.netns === name)),
    (name) => this.requestFlush(`network namespace ${name} added or removed`),
  );
  private loop?: Promise<void>;
  private lastAck?: string;
  private statsTimer?: NodeJS.Timeout;
  private unprobe?: () => void;
  private pathKeys = '';
  private sentEmptyStats = false;
  private renewTimer?: NodeJS.Timeout;
  /** Whether a session is open (for tests and status lines). */
  connected = false;
  private appliedFile?: AppliedGenerationFile;
  /** The candidate address of the current or last session (for tests and status lines). */
  controller?: string;
  /** Certificates renewed since start (for tests and status lines). */
  renewals = 0;
  private readonly id: Identity;
  private readonly welcomeWait: WelcomeWait;
  /** The wait for the next session's welcome (see welcome-wait.ts). */
  private welcomeWaitMs: number;

  /** The program held (as received; applied or not) and its generation: for status lines and benchmarks. */
  get heldProgram(): { generation: number; segments: ReadonlyMap<string, Segment> } | undefined {
    return this.haveProgram ? { generation: this.received, segments: this.desired } : undefined;
  }

  constructor(
    id: Identity,
    private readonly stateDir: string,
    private readonly dataplane: DataplaneDriver,
    private readonly log: RuntimeLogger,
    private readonly opts: RuntimeOptions,
  ) {
    // A copy: renewal replaces the certificate in it.
    this.id = { ...id };
    const baseMs = opts.welcomeTimeoutMs ?? 10_000;
    this.welcomeWait = { baseMs, maxMs: opts.maxWelcomeTimeoutMs ?? MAX_WELCOME_WAIT_MS };
    this.welcomeWaitMs = baseMs;
  }

  async start(): Promise<void> {
    this.applied = await loadAppliedGeneration(this.stateDir);
    this.appliedFile = new AppliedGenerationFile(this.stateDir, this.applied, (err) => this.log.warn({ err: String(err) }, 'cannot record the applied generation'));
    this.unwatch = this.dataplane.watch(() => this.requestFlush('kernel change'));
    this.netns.arm();
    this.resyncTimer = setInterval(() => {
      this.netns.arm();
      this.requestFlush('periodic resync');
    }, this.opts.resyncMs ?? 30_000);
    this.resyncTimer.unref();
    const prober = this.opts.prober;
    if (prober) {
      this.unprobe = prober.onChange((s) => this.onPathChange(s));
      this.statsTimer = setInterval(() => this.sendPathStats(), this.opts.statsIntervalMs ?? 1000);
      this.statsTimer.unref();
    }
    this.loop = this.connectLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    this.netns.close();
    clearInterval(this.statsTimer);
    clearTimeout(this.renewTimer);
    this.unprobe?.();
    this.opts.prober?.close();
    this.unwatch?.();
    this.call?.cancel();
    this.client?.close();
    await this.loop?.catch(() => undefined);
    await this.flushing;
    await this.appliedFile?.settled();
    await this.dataplane.close();
  }

  /**
   * Rounds over the candidates, each in a fresh random order with the replica just left last.
   * A session that worked (welcomed, and lasted) ends a round early, so the next replica is
   * tried at once; a round in which every candidate failed is followed by a backoff.
   */
  private async connectLoop(): Promise<void> {
    const { initial, max } = this.opts.backoffMs ?? { initial: 200, max: 5000 };
    const random = this.opts.random ?? Math.random;
    let delay = initial;
    let justLeft: string | undefined;
    while (!this.stopped) {
      const candidates = await resolveCandidates(this.id.controllers, (address, err) => this.log.warn({ controller: address, err: String(err) }, 'cannot resolve a controller address'), this.opts.lookup);
      let worked = false;
      for (const address of roundOrder(candidates, justLeft, random)) {
        if (this.stopped) break;
        const started = Date.now();
        let outcome = await this.session(address).catch((err: unknown) => String(err));
        const welcomed = this.connected;
        this.connected = false;
        justLeft = address;
        if (this.stopped) break;
        const validTo = this.certificateValidity()?.validTo;
        if (validTo && validTo.getTime() < Date.now()) outcome += ` (this host's certificate expired at ${validTo.toISOString()}: join again with a new token)`;
        worked = welcomed && Date.now() - started >= HEALTHY_SESSION_MS;
        this.log.warn({ controller: address, reason: outcome }, worked ? 'controller session ended; trying another replica, dataplane left as it is' : 'no session with this controller; dataplane left as it is');
        if (worked) break;
      }
      if (this.stopped) break;
      if (worked) {
        delay = initial;
        continue;
      }
      this.log.warn({ controllers: candidates.length, retryInMs: delay }, 'no controller replica answered; backing off');
      await new Promise((r) => setTimeout(r, delay * (0.8 + random() * 0.4)));
      delay = Math.min(delay * 2, max);
    }
  }

  /** One session: hello, then programs and deltas until the stream ends. Resolves with why. */
  private async session(address: string): Promise<string> {
    this.client?.close();
    this.controller = address;
    this.client = agentClient(address, this.id.caPem, this.id, keepaliveOptions(this.opts.keepalive ?? SESSION_KEEPALIVE));
    const call = this.client.Session();
    this.call = call;
    this.lastAck = undefined;
    const capabilities = { ...(await this.dataplane.capabilities()), ...(await this.opts.prober?.capabilities?.()) };
    const addresses = discoverAddresses();
    // Peers may get their program (and probe us) before we get ours: answer from the start.
    this.opts.prober?.setResponderAddresses?.(addresses);
    const welcomeWithinMs = this.welcomeWaitMs;
    let welcomeTimer: NodeJS.Timeout | undefined;
    return new Promise<string>((resolve) => {
      // A candidate that accepts but never welcomes (or never completes a handshake) is left.
      welcomeTimer = setTimeout(() => {
        if (this.connected) return;
        this.welcomeWaitMs = nextWelcomeWait(welcomeWithinMs, 'no-welcome', this.welcomeWait);
        resolve(`no welcome within ${welcomeWithinMs} ms (the next wait is ${this.welcomeWaitMs} ms)`);
        call.cancel();
      }, welcomeWithinMs);
      call.on('data', (m: ControllerMessage) => this.onMessage(m));
      call.on('error', (err: grpc.ServiceError) => resolve(err.details || err.message));
      call.on('end', () => resolve('the controller ended the session'));
      call.write({
        hello: { protocolVersion: PROTOCOL_VERSION, agentVersion: this.opts.agentVersion, capabilities, addresses, appliedGeneration: this.applied },
      });
    }).finally(() => {
      clearTimeout(welcomeTimer);
      clearTimeout(this.renewTimer);
      if (this.call === call) this.call = undefined;
    });
  }

  private onMessage(m: ControllerMessage): void {
    if (m.welcome) {
      this.connected = true;
      this.welcomeWaitMs = nextWelcomeWait(this.welcomeWaitMs, 'welcomed', this.welcomeWait);
      this.log.info({ controller: this.controller, host: m.welcome.hostName, controllerVersion: m.welcome.controllerVersion, protocolVersion: m.welcome.protocolVersion }, 'connected to the controller');
      // A new session starts with everything the probes know.
      this.sendPathStats(true);
      // Older controllers do not know renewal: the agent keeps its certificate until then.
      if (m.welcome.protocolVersion >= RENEWAL_PROTOCOL_VERSION) this.scheduleRenewal();
    } else if (m.certificate) {
      void this.onCertificate(m.certificate.certificatePem);
    } else if (m.program) {
      this.desired.clear();
      for (const s of m.program.segments) this.desired.set(s.id, s);
      this.received = Number(m.program.generation);
      this.haveProgram = true;
      this.updatePaths();
      this.requestFlush('program');
    } else if (m.delta) {
      const next = applyProgramDelta(this.desired, this.received, m.delta);
      if ('gap' in next) {
        // Something was missed: only a full program is safe now, and a new session starts
        // with one. The dataplane keeps the last whole program meanwhile.
        this.log.warn({ generation: m.delta.generation, reason: next.gap }, 'a delta does not apply to the program held; reconnecting for a full program');
        this.call?.cancel();
        return;
      }
      this.desired = next.segments;
      this.received = Number(m.delta.generation);
      this.updatePaths();
      this.requestFlush('delta');
    }
  }

  /** The current certificate's validity; undefined (and logged) if the stored one does not parse. */
  private certificateValidity(): { validFrom: Date; validTo: Date } | undefined {
    try {
      return certValidity(this.id.certPem);
    } catch (err) {
      this.log.error({ err: String(err) }, 'the stored client certificate does not parse: join again');
      return undefined;
    }
  }

  /** Renews at `dueAt` (ms since the epoch), in timer steps short enough for setTimeout. */
  private scheduleRenewal(dueAt?: number): void {
    clearTimeout(this.renewTimer);
    if (dueAt === undefined) {
      const validity = this.certificateValidity();
      if (!validity) return;
      dueAt = Date.now() + renewalDelayMs(validity, Date.now());
    }
    const wait = dueAt - Date.now();
    const at = dueAt;
    this.renewTimer = setTimeout(() => (Date.now() >= at ? this.requestRenewal() : this.scheduleRenewal(at)), Math.max(0, Math.min(wait, MAX_TIMER_MS)));
    this.renewTimer.unref();
  }

  private requestRenewal(): void {
    if (!this.call || !this.connected || this.stopped) return;
    const publicKeyPem = createPublicKey(this.id.keyPem).export({ type: 'spki', format: 'pem' }).toString();
    const validity = this.certificateValidity();
    if (!validity) return;
    this.log.info({ validTo: validity.validTo.toISOString() }, 'asking the controller to renew the client certificate');
    this.call.write({ renew: { publicKeyPem } });
    // Asked again if no certificate comes back; a new one reschedules from its own lifetime.
    this.scheduleRenewal(Date.now() + renewalRetryMs(validity, Date.now()));
  }

  private async onCertificate(certPem: string): Promise<void> {
    const problem = renewedCertificateProblem(certPem, { caPem: this.id.caPem, keyPem: this.id.keyPem, host: this.id.host }, Date.now());
    if (problem) {
      this.log.warn({ problem }, 'ignoring a certificate from the controller');
      return;
    }
    try {
      await saveCertificate(this.stateDir, certPem);
    } catch (err) {
      // Keep using the old one (and ask again later) rather than hold one that is not on disk.
      this.log.error({ err: String(err) }, 'cannot store the renewed certificate; keeping the current one');
      return;
    }
    this.id.certPem = certPem;
    this.renewals++;
    this.log.info({ validTo: this.certificateValidity()?.validTo.toISOString() }, 'client certificate renewed; used from the next connection');
    if (this.call && this.connected) this.scheduleRenewal();
  }

  /** The prober follows the program: the union of its segments' paths. */
  private updatePaths(): void {
    const prober = this.opts.prober;
    if (!prober) return;
    const byKey = new Map<string, ProbePath>();
    for (const s of this.desired.values()) if (!s.error) for (const p of s.paths) byKey.set(`${p.peer}/${p.plane}`, p);
    const keys = JSON.stringify([...byKey.values()].map((p) => [p.peer, p.plane, p.localAddress, p.remoteAddress, p.mtu]).sort());
    if (keys === this.pathKeys) return;
    this.pathKeys = keys;
    prober.setPaths([...byKey.values()]);
    this.pushHealth();
  }

  private onPathChange(s: PathStatus): void {
    this.pushHealth();
    this.log.info({ peer: s.peer, plane: s.plane, state: s.state, lossRatio: s.loss, rttMs: s.rttMs }, 'path state changed');
    this.call?.write({ pathReport: { changes: [s], stats: [], complete: false } });
  }

  /** The dataplane's multipath groups follow path health at once. */
  private pushHealth(): void {
    const prober = this.opts.prober;
    if (!prober || !this.dataplane.setPathHealth) return;
    const health = new Map<string, PathHealth>();
    for (const s of prober.stats()) health.set(`${s.peer}/${s.plane}`, prober.state(s.peer, s.plane));
    this.dataplane.setPathHealth(health);
    this.dataplane.applyPathHealth?.().catch((err: unknown) => this.log.warn({ err: String(err) }, 'cannot apply path health to the dataplane; the next flush will'));
  }

  private sendPathStats(force = false): void {
    if (!this.call || !this.connected || !this.opts.prober) return;
    const stats = this.opts.prober.stats();
    // A host without storage paths says so once per session, not every second.
    if (!stats.length && this.sentEmptyStats && !force) return;
    this.sentEmptyStats = !stats.length;
    this.call.write({ pathReport: { changes: [], stats, complete: true } });
  }

  /** Coalesces: at most one flush runs, and one more follows if asked meanwhile. */
  private requestFlush(why: string): void {
    if (!this.haveProgram || this.stopped) return;
    if (this.flushing) {
      this.again = true;
      return;
    }
    this.flushing = this.flushLoop(why).finally(() => {
      this.flushing = undefined;
    });
  }

  private async flushLoop(why: string): Promise<void> {
    do {
      this.again = false;
      const generation = this.received;
      this.dataplane.setDesired([...this.desired.values()]);
      let errors: ObjectError[];
      try {
        errors = await this.dataplane.flush();
      } catch (err) {
        this.log.error({ err: String(err), why }, 'dataplane flush failed; will retry');
        setTimeout(() => this.requestFlush('retry after failure'), 1000).unref();
        return;
      }
      if (errors.length) this.log.warn({ generation, errors }, 'the kernel refused part of the program');
      if (generation !== this.applied) {
        this.applied = generation;
        this.appliedFile?.record(generation);
      }
      // Resyncs that change nothing are not news to the controller; a new session always is.
      const ack = JSON.stringify({ generation, errors });
      if (this.call && ack !== this.lastAck) {
        // Within what the controller accepts: a very broken host still reports, in part.
        this.call.write({ ack: { generation, errors: boundAckErrors(errors) } });
        this.lastAck = ack;
      }
    } while (this.again && !this.stopped);
  }
}
