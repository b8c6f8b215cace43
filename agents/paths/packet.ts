// The probe packet: 24 bytes, big-endian, UDP payload.
//
//   0  u16  magic 0x5750 ("WP")
//   2  u8   version (1)
//   3  u8   type: 1 request, 2 response
//   4  u32  path id (the sender's; echoed, so the reply finds its path without a lookup by address)
//   8  u32  sequence number
//   12 f64  send time, ms on the sender's monotonic clock (echoed; only the sender reads it)
//   20 u32  reserved, 0
//
// A responder answers a request by echoing it with type = response: the reply is never larger
// than the request, so the responder cannot be used to amplify traffic.

export const PROBE_MAGIC = 0x5750;
export const PROBE_VERSION = 1;
export const PROBE_SIZE = 24;

export type ProbeType = 'request' | 'response';

export interface Probe {
  type: ProbeType;
  pathId: number;
  seq: number;
  sentAt: number;
}

const TYPE_CODE: Record<ProbeType, number> = { request: 1, response: 2 };

export function encodeProbe(p: Probe, buf: Buffer = Buffer.allocUnsafe(PROBE_SIZE)): Buffer {
  buf.writeUInt16BE(PROBE_MAGIC, 0);
  buf.writeUInt8(PROBE_VERSION, 2);
  buf.writeUInt8(TYPE_CODE[p.type], 3);
  buf.writeUInt32BE(p.pathId >>> 0, 4);
  buf.writeUInt32BE(p.seq >>> 0, 8);
  buf.writeDoubleBE(p.sentAt, 12);
  buf.writeUInt32BE(0, 20);
  return buf;
}

/** The probe in `buf`, or undefined for anything else (wrong magic, version, type or size). */
export function decodeProbe(buf: Buffer): Probe | undefined {
  if (buf.length < PROBE_SIZE || buf.readUInt16BE(0) !== PROBE_MAGIC || buf.readUInt8(2) !== PROBE_VERSION) return undefined;
  const code = buf.readUInt8(3);
  const type: ProbeType | undefined = code === 1 ? 'request' : code === 2 ? 'response' : undefined;
  if (type === undefined) return undefined;
  return { type, pathId: buf.readUInt32BE(4), seq: buf.readUInt32BE(8), sentAt: buf.readDoubleBE(12) };
}

/** Turns a request (in place) into its response; false when `buf` is not a request. */
export function answerInPlace(buf: Buffer): boolean {
  if (buf.length < PROBE_SIZE || buf.readUInt16BE(0) !== PROBE_MAGIC || buf.readUInt8(2) !== PROBE_VERSION || buf.readUInt8(3) !== 1) return false;
  buf.writeUInt8(2, 3);
  return true;
}
