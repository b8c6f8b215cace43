// One subscriber of the stream: a position in the shared ring and a socket. It writes while the
// socket's buffer is below a high-water mark and resumes when a write completes, so per client
// the controller holds at most about `highWaterBytes`. A client that falls behind by more than
// its allowance (or out of the ring) is closed with 4008; the ring never grows for it.
import type { Principal } from '../auth/index.js';
import { CLOSE, type ServerMessage } from './protocol.js';
import { formatCursor, type Ring } from './ring.js';
import { canSee } from './visibility.js';

/** The part of a `ws` WebSocket a client uses. */
export interface LiveSocket {
  send(data: string, cb?: (err?: Error) => void): void;
  readonly bufferedAmount: number;
  close(code: number, reason: string): void;
  terminate(): void;
  /**
   * Hold writes in the socket's buffer until `uncork` (the TCP socket under the WebSocket).
   * Optional: the hub corks every client's socket for the rest of a tick, so the events of one
   * tick go out in one write per socket rather than one write (a syscall) per event per client.
   */
  cork?(): void;
  uncork?(): void;
}

export interface ClientLimits {
  /** Stop writing while the socket buffers more than this. */
  highWaterBytes: number;
  /** Close a client whose unsent backlog grows this much past what it had when it subscribed. */
  maxLagBytes: number;
  /** After a close frame is queued, give the peer this long before the socket is destroyed. */
  closeGraceMs: number;
}

export type ClientEnd = 'too-slow' | 'revoked' | 'closed';

export class LiveClient {
  /** Absolute ring index of the next event to consider. */
  private next: number;
  /** Backlog allowed before the client counts as too slow. */
  private readonly allowance: number;
  /** Where replay ends: "caught-up" is sent on reaching it (undefined: not replaying). */
  private replayEnd: number | undefined;
  private waiting = false;
  private closed = false;
  private corked = false;
  private readonly onWritten = (err?: Error) => {
    if (err) return this.end('closed');
    if (this.waiting && this.socket.bufferedAmount < this.limits.highWaterBytes) {
      this.waiting = false;
      this.pump();
    }
  };

  constructor(
    readonly principal: Principal,
    private readonly socket: LiveSocket,
    private readonly ring: Ring,
    private readonly limits: ClientLimits,
    from: number,
    replay: boolean,
    private readonly onEnd: (c: LiveClient, why: ClientEnd) => void,
  ) {
    this.next = from;
    this.allowance = ring.bytesFrom(from) + limits.maxLagBytes;
    this.replayEnd = replay ? ring.end : undefined;
  }

  get buffered(): number {
    return this.socket.bufferedAmount;
  }

  get caughtUp(): boolean {
    return this.next >= this.ring.end;
  }

  /** Sends a message outside the ring (hello, snapshot, statistics). */
  sendNow(msg: ServerMessage | string): void {
    if (this.closed) return;
    this.socket.send(typeof msg === 'string' ? msg : JSON.stringify(msg), this.onWritten);
  }

  /** Whether a droppable message (statistics) should go now rather than be skipped. */
  idle(): boolean {
    return !this.closed && this.caughtUp && this.socket.bufferedAmount < this.limits.highWaterBytes;
  }

  /** Holds this client's writes until `uncork` (see LiveSocket.cork). */
  cork(): void {
    if (this.corked || this.closed || !this.socket.cork) return;
    this.corked = true;
    this.socket.cork();
  }

  /** Sends what was held since `cork`. Safe to call when not corked. */
  uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork?.();
  }

  /** Writes ring entries until caught up or the socket buffer is full. */
  pump(): void {
    if (this.closed) return;
    if (this.next < this.ring.start || this.ring.bytesFrom(this.next) > this.allowance) return this.tooSlow();
    const end = this.ring.end;
    while (this.next < end) {
      if (this.socket.bufferedAmount >= this.limits.highWaterBytes) {
        this.waiting = true;
        return;
      }
      const e = this.ring.at(this.next++)!;
      if (canSee(this.principal, e.tenant)) this.socket.send(e.json, this.onWritten);
    }
    if (this.replayEnd !== undefined && this.next >= this.replayEnd) {
      const last = this.ring.at(this.next - 1);
      this.replayEnd = undefined;
      this.sendNow({ type: 'caught-up', cursor: formatCursor(last ?? this.ring.floor) });
    }
  }

  private tooSlow(): void {
    this.closeWith('too-slow', CLOSE.tooSlow, 'too slow: the client fell behind the stream; reconnect and resume');
  }

  /** Its token or tenant was deleted: close with 4001 at once; nothing more is sent. */
  revoke(): void {
    this.closeWith('revoked', CLOSE.unauthenticated, 'the token was revoked (it, or its tenant, was deleted)');
  }

  private closeWith(why: ClientEnd, code: number, reason: string): void {
    if (this.closed) return;
    this.end(why);
    this.socket.close(code, reason);
    // A peer that does not read never takes the close frame: do not wait for it forever.
    setTimeout(() => this.socket.terminate(), this.limits.closeGraceMs).unref();
  }

  /** The socket closed, or the hub drops the client. Idempotent. */
  end(why: ClientEnd): void {
    if (this.closed) return;
    // Release what the hub held this tick, so a 4008 close frame written next goes out too.
    this.uncork();
    this.closed = true;
    this.onEnd(this, why);
  }
}
