// The engine's output, line by line: a pure parser and a bounded line splitter. Everything the
// engine prints is checked (field count, digits only, bounded lengths); a line that does not
// parse is dropped and counted, never thrown on: the engine is another process, so its output
// is input like any other.
//
// Times arrive as CLOCK_REALTIME nanoseconds (more than 2^53) and leave as milliseconds on the
// epoch (a number comparable to Date.now(), sub-microsecond precise at today's dates).

/** Longest line the engine writes is well under this; anything longer is garbage. */
export const MAX_ENGINE_LINE = 200;

export type MtuVerdict = 'ok' | 'big' | 'lost';

export type EngineEvent =
  | { kind: 'sent'; id: number; seq: number; txMs: number }
  | { kind: 'skipped'; id: number; slots: number }
  | { kind: 'reply'; id: number; seq: number; txMs: number; rxMs: number }
  | { kind: 'peer'; id: number; rxMs: number }
  | { kind: 'mtu'; id: number; size: number; verdict: MtuVerdict; namedMtu: number }
  | { kind: 'time'; nowMs: number }
  | { kind: 'dropped'; lines: number }
  | { kind: 'hello'; ok: boolean; error: string }
  | { kind: 'refused'; id: number; reason: string };

/**
 * Reads space-separated fields off a line by character code, without splitting or regexes:
 * the engine writes tens of thousands of lines a second, so parsing is the agent's main cost.
 */
class Fields {
  private i = 1; // after the one-letter kind

  constructor(private readonly s: string) {}

  /** The next field's [start, end), or undefined when there is no ' ' + non-empty field. */
  private next(): [number, number] | undefined {
    const s = this.s;
    if (this.i >= s.length || s.charCodeAt(this.i) !== 32) return undefined;
    const start = this.i + 1;
    let end = start;
    while (end < s.length && s.charCodeAt(end) !== 32) end++;
    if (end === start) return undefined;
    this.i = end;
    return [start, end];
  }

  private digits(start: number, end: number): number | undefined {
    let v = 0;
    for (let k = start; k < end; k++) {
      const c = this.s.charCodeAt(k) - 48;
      if (c < 0 || c > 9) return undefined;
      v = v * 10 + c;
    }
    return v;
  }

  u32(): number | undefined {
    const f = this.next();
    if (f === undefined || f[1] - f[0] > 10) return undefined;
    const v = this.digits(f[0], f[1]);
    return v !== undefined && v <= 0xffffffff ? v : undefined;
  }

  /** Nanoseconds as milliseconds: whole ms and the last six digits apart, to stay exact. */
  nsAsMs(): number | undefined {
    const f = this.next();
    if (f === undefined || f[1] - f[0] > 19) return undefined;
    const split = Math.max(f[0], f[1] - 6);
    const ms = this.digits(f[0], split);
    const frac = this.digits(split, f[1]);
    return ms !== undefined && frac !== undefined ? ms + frac / 1e6 : undefined;
  }

  word(): string | undefined {
    const f = this.next();
    return f === undefined ? undefined : this.s.slice(f[0], f[1]);
  }

  rest(): string | undefined {
    return this.i < this.s.length && this.s.charCodeAt(this.i) === 32 ? this.s.slice(this.i + 1) : undefined;
  }

  get done(): boolean {
    return this.i === this.s.length;
  }
}

/** Nanoseconds (decimal) to milliseconds, exact to the nanosecond's float rounding. */
export function nsToMs(s: string | undefined): number | undefined {
  return s === undefined ? undefined : end(new Fields(`x ${s}`), (f) => f.nsAsMs());
}

/** `read(f)` if it read the whole line, else undefined. */
function end<T>(f: Fields, read: (f: Fields) => T | undefined): T | undefined {
  const v = read(f);
  return v !== undefined && f.done ? v : undefined;
}

const MTU_VERDICTS: ReadonlySet<string> = new Set<MtuVerdict>(['ok', 'big', 'lost']);

/** One engine line (without its newline), or undefined when it is not one. */
export function parseEngineLine(line: string): EngineEvent | undefined {
  if (line.length < 2 || line.length > MAX_ENGINE_LINE) return undefined;
  const f = new Fields(line);
  switch (line.charCodeAt(0)) {
    case 83: // S
      return end(f, (r) => {
        const id = r.u32(), seq = r.u32(), txMs = r.nsAsMs();
        return id !== undefined && seq !== undefined && txMs !== undefined ? { kind: 'sent', id, seq, txMs } : undefined;
      });
    case 82: // R
      return end(f, (r) => {
        const id = r.u32(), seq = r.u32(), txMs = r.nsAsMs(), rxMs = r.nsAsMs();
        return id !== undefined && seq !== undefined && txMs !== undefined && rxMs !== undefined ? { kind: 'reply', id, seq, txMs, rxMs } : undefined;
      });
    case 84: // T
      return end(f, (r) => {
        const nowMs = r.nsAsMs();
        return nowMs !== undefined ? { kind: 'time', nowMs } : undefined;
      });
    case 81: // Q
      return end(f, (r) => {
        const id = r.u32(), rxMs = r.nsAsMs();
        return id !== undefined && rxMs !== undefined ? { kind: 'peer', id, rxMs } : undefined;
      });
    case 75: // K
      return end(f, (r) => {
        const id = r.u32(), slots = r.u32();
        return id !== undefined && slots !== undefined ? { kind: 'skipped', id, slots } : undefined;
      });
    case 77: // M
      return end(f, (r) => {
        const id = r.u32(), size = r.u32(), verdict = r.word(), namedMtu = r.u32();
        if (id === undefined || size === undefined || verdict === undefined || !MTU_VERDICTS.has(verdict) || namedMtu === undefined) return undefined;
        return { kind: 'mtu', id, size, verdict: verdict as MtuVerdict, namedMtu };
      });
    case 68: // D
      return end(f, (r) => {
        const lines = r.u32();
        return lines !== undefined ? { kind: 'dropped', lines } : undefined;
      });
    case 72: // H
      return end(f, (r) => {
        const w = r.word();
        if (w === 'ok') return { kind: 'hello', ok: true, error: '' };
        const error = w === 'err' ? r.word() : undefined;
        return error !== undefined && /^[A-Z0-9]{1,20}$/.test(error) ? { kind: 'hello', ok: false, error } : undefined;
      });
    case 69: { // E
      const id = f.u32();
      const reason = f.rest();
      return id !== undefined && reason !== undefined && reason !== '' ? { kind: 'refused', id, reason } : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Splits a byte stream into lines of at most `maxLine` characters. A longer line is dropped
 * whole (up to its newline) and counted in `overlong`, so a runaway writer costs bounded memory.
 */
export class LineSplitter {
  private partial = '';
  private skipping = false;
  overlong = 0;

  constructor(private readonly maxLine = MAX_ENGINE_LINE) {}

  /** Calls `onLine` for every complete line in `chunk` (plus what was left from before). */
  push(chunk: string, onLine: (line: string) => void): void {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      const piece = chunk.slice(start, nl);
      start = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      const line = this.partial === '' ? piece : this.partial + piece;
      this.partial = '';
      if (line.length > this.maxLine) this.overlong++;
      else onLine(line);
    }
    if (start < chunk.length && !this.skipping) {
      this.partial += chunk.slice(start);
      if (this.partial.length > this.maxLine) {
        this.partial = '';
        this.skipping = true;
        this.overlong++;
      }
    }
  }
}
