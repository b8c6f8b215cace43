// Keeps every host's program current and delivers it: a full compile at start, then each
// intent change through the incremental compiler, as per-host deltas to connected agents.
// A host that is not connected simply gets its full program when it connects.
import { IncrementalCompiler, placementChanged, type NetworkFacts } from '../compile/index.js';
import type { Endpoint } from '../model/index.js';
import { negotiateProtocol, type Ack, type ControllerMessage, type Hello, type HostProgram } from '../protocol/index.js';
import type { ChangeEvent, IntentCache, Logger } from '../store/index.js';
import { ProgramBook } from './program-book.js';
import { wireDelta } from './wire-delta.js';

/** Where a host's messages go: its Session stream. */
export interface AgentSink {
  send(msg: ControllerMessage): void;
  /** Ends the stream (a newer session for the same host replaced it). */
  close(reason: string): void;
}

export interface DistributorEvents {
  /** Segments whose applied state may have changed on these hosts (sent, acked, connected). */
  onProgramState?(segmentIds: string[]): void;
  onConnect?(host: string, hello: Hello): void;
  onDisconnect?(host: string): void;
  /** A host acknowledged a program generation; `errors` are the objects its kernel refused. */
  onAck?(host: string, generation: number, errors: NonNullable<Ack['errors']>): void;
  /** Networks ("tenant/network") just compiled: their facts (networkFacts) may be new. */
  onNetworksCompiled?(networks: string[]): void;
}

export class ProgramDistributor {
  readonly book = new ProgramBook();
  private compiler?: IncrementalCompiler;
  private readonly sinks = new Map<string, AgentSink>();
  /** The protocol version each connected host's session speaks: it decides the shape of its deltas. */
  private readonly versions = new Map<string, number>();
  private unsubscribe?: () => void;
  /** networksCompiled of compilers replaced by a fallback full recompile. */
  private compiledBefore = 0;
  /** Changes not yet compiled (see onChange). */
  private pending: ChangeEvent[] = [];

  constructor(
    private readonly cache: IntentCache,
    private readonly log: Logger,
    private readonly events: DistributorEvents = {},
  ) {}

  start(): void {
    this.compiler = this.newCompiler();
    this.book.load(this.compiler.full(), this.cache.revision);
    this.publishCompiled();
    this.unsubscribe = this.cache.subscribe((e) => this.onChange(e));
  }

  stop(): void {
    this.unsubscribe?.();
    this.pending = [];
    for (const [host, sink] of this.sinks) sink.close('controller stopping');
    this.sinks.clear();
  }

  /**
   * Hosts whose agents are connected elsewhere (or nowhere) have their programs brought up to
   * date when they connect, not on every change: per-host work follows this replica's agents.
   */
  private newCompiler(): IncrementalCompiler {
    return new IncrementalCompiler(this.cache, (host) => this.sinks.has(host));
  }

  /** What the latest compile of a network found (problems, MTU): status publishes it. */
  networkFacts(key: string): NetworkFacts | undefined {
    return this.compiler?.networkFacts(key);
  }

  /** Networks compiled since start (across fallback recompiles): for metrics and tests. */
  get networksCompiled(): number {
    return this.compiledBefore + (this.compiler?.networksCompiled ?? 0);
  }

  /** Tells status which networks the compiler just looked at. */
  private publishCompiled(): void {
    const keys = this.compiler?.compiled ?? [];
    if (keys.length) this.events.onNetworksCompiled?.(keys);
  }

  connected(host: string): boolean {
    return this.sinks.has(host);
  }

  connectedHosts(): string[] {
    return [...this.sinks.keys()];
  }

  private onChange(e: ChangeEvent): void {
    // Status lives under its own key: a status-only event keeps the resourceVersion. Only a
    // host's status feeds the compiler (its addresses and capabilities); the rest cannot
    // change any program, and recompiling a large network for each would swamp the loop.
    // A move's phase (an endpoint's status.move) decides where the endpoint is attached and
    // which host remote hosts point at: it is the one status of another kind that does.
    if (e.type === 'modified' && e.ref.kind !== 'Host' && e.previous?.metadata.resourceVersion === e.resource.metadata.resourceVersion && !movedAlong(e)) return;
    // Changes that arrive while the loop is busy are compiled together on the next turn: a
    // burst of creates in a large network is one compile and one message per host, not one
    // per create (each of which held the loop for the whole network).
    this.pending.push(e);
    if (this.pending.length === 1) setImmediate(() => this.drain());
  }

  private drain(): void {
    const events = this.pending;
    this.pending = [];
    if (!events.length || !this.compiler) return;
    const first = events[0]!.revision;
    const last = events[events.length - 1]!.revision;
    let deltas;
    try {
      deltas = this.book.apply(this.compiler.onChanges(events), last, first - 1);
      this.book.markBehind(this.compiler.leftBehind, last, first - 1);
    } catch (err) {
      // The incremental path must never wedge distribution: recompute everything instead.
      this.log.error({ err: String(err), refs: events.slice(0, 5).map((x) => x.ref), changes: events.length }, 'incremental compile failed; recompiling the fabric');
      this.compiledBefore += this.compiler.networksCompiled;
      this.compiler = this.newCompiler();
      deltas = this.book.load(this.compiler.full(), last);
    }
    this.publishCompiled();
    const touched = new Set<string>();
    for (const ids of this.compiler.leftBehind.values()) for (const id of ids) touched.add(id);
    for (const [host, delta] of deltas) {
      for (const s of delta.upsert) touched.add(s.id);
      for (const id of delta.remove) touched.add(id);
      this.sinks.get(host)?.send({ delta: wireDelta(delta, this.versions.get(host) ?? 1), body: 'delta' });
    }
    if (touched.size) this.events.onProgramState?.([...touched]);
  }

  /** Registers a host's session, replacing an older one; returns the full program to send. */
  connect(host: string, hello: Hello, sink: AgentSink): HostProgram {
    const old = this.sinks.get(host);
    if (old && old !== sink) old.close('replaced by a newer session from the same host');
    this.sinks.set(host, sink);
    this.versions.set(host, negotiateProtocol(hello.protocolVersion) ?? 1);
    const caughtUp = this.compiler?.catchUp(host);
    if (caughtUp?.size) this.book.apply(caughtUp, this.book.revision);
    const program = this.book.connect(host, Number(hello.appliedGeneration));
    this.events.onConnect?.(host, hello);
    return program;
  }

  ack(host: string, ack: Ack): void {
    this.book.ack(host, Number(ack.generation), ack.errors);
    this.events.onAck?.(host, Number(ack.generation), ack.errors ?? []);
    this.events.onProgramState?.(this.book.segmentsOf(host).map((s) => s.id));
  }

  disconnect(host: string, sink: AgentSink): void {
    if (this.sinks.get(host) !== sink) return;
    this.sinks.delete(host);
    this.versions.delete(host);
    this.events.onDisconnect?.(host);
  }
}

/** An endpoint status change that moves its placement (a move's phase). */
function movedAlong(e: ChangeEvent): boolean {
  return e.ref.kind === 'Endpoint' && e.previous !== undefined && placementChanged(e.previous as Endpoint, e.resource as Endpoint);
}
