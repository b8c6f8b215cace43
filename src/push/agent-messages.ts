// The agent server's boundary: what an admitted agent sends is checked here before anything
// acts on it. Bytes are screened before decoding (counts of repeated fields), decoded
// messages against one schema each (src/protocol/agent-messages.ts), and session order and
// generations against what this session was sent.
//
// A bad message ends that agent's session with INVALID_ARGUMENT naming the field: a correct
// agent never sends one, so it is a broken or hostile agent, and going on would leave its
// status half-true (a dropped ack never converges). Ending the session limits the damage to
// that host: its paths turn unknown and it reconnects (with backoff) into the same check.
// Messages that are merely out of place are dropped and counted instead, because a correct
// agent can send them: a path report racing its own hello, a body a newer agent added, an
// ack numbered before this controller restarted; acks that change nothing are dropped too.
import * as grpc from '@grpc/grpc-js';
import { Counter, type Registry } from 'prom-client';
import {
  AGENT_MESSAGE_WIRE_LIMITS,
  JOIN_REQUEST_WIRE_LIMITS,
  checkAgentMessage,
  checkJoinRequest,
  type FieldProblem,
} from '../protocol/agent-messages.js';
import type { AgentMessage, JoinRequest } from '../protocol/index.js';
import { wireLimitProblem, type WireLimits } from '../protocol/wire-limits.js';

/** Set instead of a decoded message when the bytes were refused before decoding. */
const REFUSED = Symbol('refused before decoding');
type Refused = { [REFUSED]: FieldProblem };

const refusedOf = (m: unknown): FieldProblem | undefined => (typeof m === 'object' && m !== null && REFUSED in m ? (m as Refused)[REFUSED] : undefined);

/**
 * The service definition with each request's bytes screened before they are decoded. A
 * refused message reaches the handler as a marker (see joinProblem / SessionScreen), so the
 * handler can answer INVALID_ARGUMENT naming the field; a deserializer that threw would make
 * grpc-js answer INTERNAL.
 */
export function screenedService<D extends grpc.ServiceDefinition>(def: D): D {
  const limits: Record<string, WireLimits> = { Join: JOIN_REQUEST_WIRE_LIMITS, Session: AGENT_MESSAGE_WIRE_LIMITS };
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(def)) {
    const lim = limits[name];
    if (!lim) {
      out[name] = method;
      continue;
    }
    const decode = method.requestDeserialize;
    out[name] = {
      ...method,
      requestDeserialize: (buf: Buffer) => {
        const problem = wireLimitProblem(buf, lim);
        return problem ? ({ [REFUSED]: problem } as Refused) : decode(buf);
      },
    };
  }
  return out as D;
}

export interface BoundaryRefusal {
  code: grpc.status;
  details: string;
}

const invalid = (p: FieldProblem): BoundaryRefusal => ({ code: grpc.status.INVALID_ARGUMENT, details: `${p.field}: ${p.message}` });

/** Why a Join request is refused at the boundary, before any token, host or key is looked at. */
export function joinProblem(req: JoinRequest): BoundaryRefusal | undefined {
  const early = refusedOf(req);
  if (early) return invalid(early);
  const r = checkJoinRequest(req);
  return r.ok ? undefined : invalid(r.problem);
}

export type Screened =
  | { act: AgentMessage }
  | { refuse: BoundaryRefusal }
  | { drop: DropReason };

export type DropReason = 'before-hello' | 'repeated-hello' | 'unknown-body' | 'stale-ack' | 'future-ack';

export interface SessionView {
  greeted: boolean;
  /** The newest program generation this host has been sent. */
  sentGeneration(): number;
}

/**
 * One session's screen: checks each message and remembers what it needs to (the last ack),
 * so the handler acts only on messages that are well formed, in order, and news.
 */
export class SessionScreen {
  private lastAck?: { generation: number; errors: string };

  constructor(private readonly metrics?: AgentMessageMetrics) {}

  screen(raw: AgentMessage, session: SessionView): Screened {
    const out = this.decide(raw, session);
    if ('refuse' in out) this.metrics?.refused.inc({ reason: 'invalid' });
    else if ('drop' in out) this.metrics?.dropped.inc({ reason: out.drop });
    return out;
  }

  private decide(raw: AgentMessage, session: SessionView): Screened {
    const early = refusedOf(raw);
    if (early) return { refuse: invalid(early) };
    const checked = checkAgentMessage(raw);
    if (!checked.ok) return { refuse: invalid(checked.problem) };
    const m = checked.message;
    if (!m.hello && !m.ack && !m.pathReport && !m.renew) return { drop: 'unknown-body' };
    if (m.hello) return session.greeted ? { drop: 'repeated-hello' } : { act: m };
    if (!session.greeted) return { drop: 'before-hello' };
    if (m.ack) {
      const generation = Number(m.ack.generation);
      const sent = session.sentGeneration();
      // Never sent on this controller: it must not mark anything applied. Dropped, not fatal: a
      // flush begun under a controller that has since restarted can ack its older numbering.
      if (generation > sent) return { drop: 'future-ack' };
      // Older or identical acks change nothing; a flood of them must not cost status work.
      const errors = JSON.stringify(m.ack.errors);
      if (this.lastAck && (generation < this.lastAck.generation || (generation === this.lastAck.generation && errors === this.lastAck.errors))) return { drop: 'stale-ack' };
      this.lastAck = { generation, errors };
    }
    return { act: m };
  }
}

/** Counts of what the boundary refused or dropped; labels are fixed sets (no host names). */
export class AgentMessageMetrics {
  readonly refused: Counter<'reason'>;
  readonly dropped: Counter<'reason'>;
  readonly failed: Counter<'handler'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.refused = new Counter({ name: 'weft_agent_messages_refused_total', help: 'Agent messages refused at the boundary (the session ended with INVALID_ARGUMENT)', labelNames: ['reason'], registers });
    this.dropped = new Counter({ name: 'weft_agent_messages_dropped_total', help: 'Agent messages dropped as out of place or unknown (the session went on)', labelNames: ['reason'], registers });
    this.failed = new Counter({ name: 'weft_agent_handler_failures_total', help: 'Agent messages whose handling threw (the session ended with INTERNAL)', labelNames: ['handler'], registers });
  }
}
