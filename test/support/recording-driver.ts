// A dataplane driver for protocol tests: records what the agent runtime asks it to program,
// reports the errors a test sets, and touches no kernel.
import type { DataplaneDriver } from '../../agents/runtime.js';
import type { ObjectError, Segment } from '../../src/protocol/index.js';

export class RecordingDriver implements DataplaneDriver {
  desired: Segment[] = [];
  flushes = 0;
  errors: ObjectError[] = [];
  setDesired(segments: Segment[]): void {
    this.desired = segments;
  }
  async flush(): Promise<ObjectError[]> {
    this.flushes++;
    return this.errors;
  }
  watch(): () => void {
    return () => undefined;
  }
  async capabilities(): Promise<Record<string, boolean>> {
    return { vxlan: true, geneve: false };
  }
  close(): void {}
}

/** A runtime logger that says nothing. */
export const quiet = { info() {}, warn() {}, error() {} };
