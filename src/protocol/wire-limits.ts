// Counting repeated fields in protobuf bytes before decoding them. Decoding makes one object
// per element with every default filled in (~2 µs each), so a 2 MB message of a million
// empty path statuses would hold the event loop for seconds before any schema could refuse
// it. This walks the wire format (tags and lengths only, no objects) and names the first
// field over its bound. Pure.

/** Per field number: its name and either a nested message's limits or a count bound. */
export interface WireLimits {
  /** How many fields this message may hold in all (repeats included). */
  maxFields: number;
  fields: Record<number, { name: string; max?: number; nested?: WireLimits }>;
}

const enum Wire {
  Varint = 0,
  Fixed64 = 1,
  Bytes = 2,
  Fixed32 = 5,
}

/** Why `buf` is refused (a field path and reason), or undefined when it is within `limits`. */
export function wireLimitProblem(buf: Uint8Array, limits: WireLimits): { field: string; message: string } | undefined {
  return walk(buf, 0, buf.length, limits, '');
}

function walk(buf: Uint8Array, start: number, end: number, limits: WireLimits, prefix: string): { field: string; message: string } | undefined {
  const counts = new Map<number, number>();
  let total = 0;
  let at = start;
  const malformed = { field: prefix || 'message', message: 'is not a well-formed protobuf message' };
  while (at < end) {
    const tag = varint(buf, at, end);
    if (!tag) return malformed;
    at = tag.next;
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    let valueStart = at;
    switch (wire) {
      case Wire.Varint: {
        const v = varint(buf, at, end);
        if (!v) return malformed;
        at = v.next;
        break;
      }
      case Wire.Fixed64:
        at += 8;
        break;
      case Wire.Fixed32:
        at += 4;
        break;
      case Wire.Bytes: {
        const len = varint(buf, at, end);
        if (!len) return malformed;
        valueStart = len.next;
        at = len.next + len.value;
        break;
      }
      default:
        return malformed;
    }
    if (at > end || field === 0) return malformed;
    const rule = limits.fields[field];
    const path = rule ? (prefix ? `${prefix}.${rule.name}` : rule.name) : prefix;
    if (++total > limits.maxFields) return { field: prefix || 'message', message: `holds more than ${limits.maxFields} fields` };
    if (!rule) continue;
    const n = (counts.get(field) ?? 0) + 1;
    counts.set(field, n);
    if (rule.max !== undefined && n > rule.max) return { field: path, message: `must have at most ${rule.max} entries` };
    if (rule.nested && wire === Wire.Bytes) {
      const inner = walk(buf, valueStart, at, rule.nested, path);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** A varint (up to 10 bytes); values past 2^49 read as MAX_SAFE_INTEGER (never a length we hold). */
function varint(buf: Uint8Array, at: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10 && at + i < end; i++) {
    const b = buf[at + i]!;
    value = i < 7 ? value + (b & 0x7f) * scale : Number.MAX_SAFE_INTEGER;
    scale *= 128;
    if (b < 0x80) return { value, next: at + i + 1 };
  }
  return undefined;
}
