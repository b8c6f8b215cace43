// One UDP socket per local underlay address, bound to address:port. Each socket answers every
// probe request it receives (whether or not this agent probes that peer: the responder belongs
// to the socket, not to a path) and carries our own requests and their replies.
//
// An address that is not (yet) on the host, or a port in use, is not fatal: the bind is
// retried every `retryMs` until it works or the socket is no longer wanted.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { answerInPlace } from './packet.js';

export interface ProbeSocketEvents {
  /** A datagram that is not a request (the prober decodes replies itself). */
  onReply(local: string, msg: Buffer, from: RemoteInfo): void;
  /** A request from `from` was answered on `local`: the peer's own probe arrived. */
  onRequest?(local: string, from: string): void;
  log?: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

export class ProbeSocket {
  private socket: Socket | undefined;
  private bound = false;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private lastError = '';
  /** Requests answered, for statistics. */
  answered = 0;

  constructor(
    readonly address: string,
    private readonly port: number,
    private readonly retryMs: number,
    private readonly events: ProbeSocketEvents,
  ) {
    this.open();
  }

  get ready(): boolean {
    return this.bound;
  }

  /** Sends if bound; a probe that cannot be sent is simply lost (its timeout counts it). */
  send(buf: Buffer, port: number, to: string): boolean {
    if (!this.bound || this.socket === undefined) return false;
    this.socket.send(buf, port, to, ignoreSendError);
    return true;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.socket?.close();
    this.socket = undefined;
    this.bound = false;
  }

  private open(): void {
    const s = createSocket({ type: this.address.includes(':') ? 'udp6' : 'udp4' });
    this.socket = s;
    s.on('message', (msg, from) => {
      if (answerInPlace(msg)) {
        this.answered++;
        s.send(msg, from.port, from.address, ignoreSendError);
        this.events.onRequest?.(this.address, from.address);
      } else {
        this.events.onReply(this.address, msg, from);
      }
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (this.bound) {
        // Errors after binding (e.g. ICMP unreachable reported on a send) lose one probe only.
        return;
      }
      s.close();
      if (this.closed) return;
      const why = err.code ?? err.message;
      if (why !== this.lastError) this.events.log?.warn({ address: this.address, port: this.port, err: why, retryInMs: this.retryMs }, 'cannot bind the path probe socket; will retry');
      this.lastError = why;
      this.retry = setTimeout(() => this.open(), this.retryMs);
      this.retry.unref();
    });
    s.once('listening', () => {
      this.bound = true;
      if (this.lastError !== '') this.events.log?.info({ address: this.address, port: this.port }, 'path probe socket bound');
    });
    s.bind({ address: this.address, port: this.port, exclusive: true });
  }
}

function ignoreSendError(): void {
  // A failed send is a lost probe; the monitor's timeout already counts it.
}
