// What one agent is sent for a host's program step, by the protocol version its session
// speaks: version 2 gets patched segments as patches, version 1 (which knows no patches) gets
// every changed segment whole. Both end up holding the same program.
import { SEGMENT_PATCH_PROTOCOL_VERSION, type ProgramDelta } from '../protocol/index.js';
import type { BookDelta } from './program-book.js';

export function wireDelta(d: BookDelta, protocolVersion: number): ProgramDelta {
  const { patches, ...step } = d;
  if (protocolVersion < SEGMENT_PATCH_PROTOCOL_VERSION || !patches.length) return { ...step, patch: [] };
  const patched = new Set(patches.map((p) => p.id));
  return { ...step, upsert: step.upsert.filter((s) => !patched.has(s.id)), patch: patches };
}
