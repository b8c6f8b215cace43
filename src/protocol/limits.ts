// What the protocol legitimately needs, as numbers both ends share. The controller refuses
// anything beyond these at the gRPC boundary (src/protocol/agent-messages.ts); the agent keeps
// its own messages inside them.
//
// The receive bound, computed from the largest messages an agent sends:
//   PathReport: changes + stats, each at most MAX_REPORTED_PATHS. A PathStatus is ~100-130
//     bytes as agents send it (names of a few characters, addresses, no MTU problem), so a
//     full report of 4,096 paths is ~0.5 MB; at the worst lengths every field allows (two
//     63-character names, two 45-character addresses, a 256-character MTU problem, all
//     numbers at 10 bytes) a PathStatus is ~560 bytes, and 4 MiB still holds ~7,400 of them.
//   Ack: MAX_ACK_ERRORS objects of at most 255 + 512 + 1,024 characters (+ framing) ≈ 1.8 MB.
//   Hello / Join: addresses, capabilities, versions and a key: under 80 KB.
// So 4 MiB for what the controller receives. The other direction (the controller's programs)
// grows with the fabric and keeps its own, larger bound (CHANNEL_OPTIONS).
export const AGENT_MESSAGE_MAX_BYTES = 4 * 1024 * 1024;

export const MAX_REPORTED_PATHS = 4096;
export const MAX_ACK_ERRORS = 1024;
export const MAX_ADDRESSES = 1024;
export const MAX_CAPABILITIES = 64;
export const MAX_CAPABILITY_NAME = 64;
export const MAX_VERSION_TEXT = 128;
export const MAX_SEGMENT_ID = 255;
export const MAX_OBJECT_TEXT = 512;
export const MAX_ERROR_TEXT = 1024;
export const MAX_MTU_PROBLEM = 256;
export const MAX_TOKEN_TEXT = 512;
/** A P-256 SPKI in PEM is ~180 bytes; room for line-ending variants and nothing more. */
export const MAX_PUBLIC_KEY_PEM = 4096;
/** Generations and counters stay exact as JavaScript numbers, with room to count on. */
export const MAX_COUNTER = 2 ** 52;
/** The last millisecond of year 9999: every such time has an ISO 8601 form. */
export const MAX_EPOCH_MS = 253_402_300_799_999;
/** An hour: a round trip longer than that is not a measurement. */
export const MAX_RTT_MS = 3_600_000;

/**
 * An agent's ack errors cut to what the controller accepts: each text to its bound, and at
 * most MAX_ACK_ERRORS entries, the last of which then says how many were left out.
 */
export function boundAckErrors<E extends { segment: string; object: string; message: string }>(errors: readonly E[]): { segment: string; object: string; message: string }[] {
  const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
  const fit = (e: E) => ({ segment: cut(e.segment, MAX_SEGMENT_ID), object: cut(e.object, MAX_OBJECT_TEXT), message: cut(e.message, MAX_ERROR_TEXT) });
  if (errors.length <= MAX_ACK_ERRORS) return errors.map(fit);
  const kept = errors.slice(0, MAX_ACK_ERRORS - 1).map(fit);
  kept.push({ segment: '', object: 'errors', message: `${errors.length - kept.length} more errors not sent` });
  return kept;
}
