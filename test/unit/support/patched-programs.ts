// What a version-2 agent holds: each host's program as the controller's deltas reach it, in
// the shape that version gets (patches for patched segments), through the protobuf codec, and
// applied with the agent's own applyProgramDelta. Tests compare it with a full compile.
import type { HostDelta } from '../../../src/compile/index.js';
import { wireDelta } from '../../../src/push/wire-delta.js';
import { applyProgramDelta, loadProtocol, type ControllerMessage, type ProgramDelta, type Segment } from '../../../src/protocol/index.js';

const session = () => loadProtocol().weft.agent.v1.AgentService.service.Session;

/** A message as the agent decodes it after the controller encoded it. */
export function overTheWire(delta: ProgramDelta): { delta: ProgramDelta; bytes: number } {
  const s = session();
  const buf = s.responseSerialize({ delta, body: 'delta' } satisfies ControllerMessage);
  return { delta: (s.responseDeserialize(buf) as ControllerMessage).delta!, bytes: buf.length };
}

export class PatchedPrograms {
  readonly programs = new Map<string, Segment[]>();
  private readonly generations = new Map<string, number>();
  /** Segments sent as patches, and whole (upserts to v2 agents). */
  patchesSent = 0;
  wholeSent = 0;
  bytes = 0;

  constructor(initial: Map<string, Segment[]>) {
    for (const [h, segments] of initial) this.programs.set(h, segments);
  }

  apply(host: string, d: HostDelta): void {
    const generation = this.generations.get(host) ?? 0;
    const wire = wireDelta({ generation: generation + 1, baseGeneration: generation, upsert: d.upsert, remove: d.remove, patches: d.patches.map((p) => p.patch) }, 2);
    const { delta, bytes } = overTheWire(wire);
    this.bytes += bytes;
    this.patchesSent += delta.patch.length;
    this.wholeSent += delta.upsert.length;
    const held = new Map((this.programs.get(host) ?? []).map((s) => [s.id, s]));
    const next = applyProgramDelta(held, generation, delta);
    if ('gap' in next) throw new Error(`${host}: the delta does not apply: ${next.gap}`);
    this.programs.set(host, [...next.segments.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
    this.generations.set(host, generation + 1);
  }
}
