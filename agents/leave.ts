// `weft agent leave`: this host leaves the fabric.
//
// 1. The controller is asked first, over the agent's mutual-TLS identity (the Leave call), to
//    delete the Host or, with --keep-host, to mark it left. A refusal (endpoints still here)
//    or no answer changes nothing on the host: its workloads keep working. leave-verdict.ts
//    decides, from the answer, what happens next.
// 2. A `weft agent run` recorded on the state directory is stopped (SIGTERM, agent-pid.ts); its
//    probe engine ends with it. Its session was already revoked by step 1.
// 3. The host is cleaned level-triggered: the dataplane's own diff with an empty program
//    ("desired = nothing") removes every device with a `weft:` alias (with the FDB and
//    neighbour entries on them), every route and nexthop object of protocol 87. A second
//    plan must then be empty; anything the kernel refused is reported.
// 4. The identity is dropped and a record of the leave kept (identity.ts). Running leave again
//    finds that record, and runs step 3 again (which changes nothing).
import * as grpc from '@grpc/grpc-js';
import type { LeaveResponse } from '../src/protocol/index.js';
import { stopRecordedAgent } from './agent-pid.js';
import { agentClient, resolveCandidates } from './dial.js';
import { forgetIdentity, hasIdentity, loadIdentity, loadLeft, type Identity } from './identity.js';
import { leaveVerdict, type LeaveAnswer } from './leave-verdict.js';
import type { Action, Plan } from './dataplane/index.js';
import type { ObjectError, Segment } from '../src/protocol/index.js';

/** The part of the dataplane driver a leave uses (agents/dataplane's Dataplane). */
export interface CleanableDataplane {
  setDesired(segments: Segment[]): void;
  plan(): Promise<Plan>;
  flush(): Promise<ObjectError[]>;
  close(): void | Promise<void>;
}

export interface LeaveOptions {
  stateDir: string;
  keepHost: boolean;
  openDataplane(): Promise<CleanableDataplane>;
  /** One line for the operator. */
  say(line: string): void;
  /** Per controller address; default 10 s. */
  callTimeoutMs?: number;
}

/** Kinds of objects a cleanup removes, for the summary line. */
function summary(actions: readonly Action[]): string {
  const count = (op: Action['op']) => actions.filter((a) => a.op === op).length;
  const parts = [`${count('delete-link')} device(s)`, `${count('route-del')} route(s)`, `${count('nexthop-del')} nexthop object(s)`];
  return parts.join(', ');
}

/** Removes everything Weft made on this host: the dataplane's diff against an empty program. */
export async function cleanHost(dataplane: CleanableDataplane): Promise<{ removed: string; errors: ObjectError[]; left: Action[] }> {
  dataplane.setDesired([]);
  const before = await dataplane.plan();
  const errors = await dataplane.flush();
  const after = await dataplane.plan();
  return { removed: summary(before.actions), errors, left: after.actions };
}

async function askController(id: Identity, keepHost: boolean, timeoutMs: number): Promise<LeaveAnswer> {
  const candidates = await resolveCandidates(id.controllers, () => undefined);
  let last: LeaveAnswer = { ok: false, code: grpc.status.UNAVAILABLE, details: `none of the controller addresses resolves (${id.controllers.join(', ')})` };
  for (const address of candidates) {
    const client = agentClient(address, id.caPem, id);
    try {
      last = await new Promise<LeaveAnswer>((resolve) => {
        client.Leave({ keepHost }, { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, res?: LeaveResponse) => {
          if (err || !res) resolve({ ok: false, code: err?.code ?? grpc.status.UNKNOWN, details: err?.details || err?.message || 'no answer' });
          else resolve({ ok: true, hostName: res.hostName, deleted: res.deleted });
        });
      });
    } finally {
      client.close();
    }
    // Another replica may answer; every other answer is the fabric's.
    if (last.ok || (last.code !== grpc.status.UNAVAILABLE && last.code !== grpc.status.DEADLINE_EXCEEDED)) return last;
    last = { ...last, details: `${address}: ${last.details}` };
  }
  return last;
}

/** Runs a leave; resolves with the exit code. */
export async function agentLeave(opts: LeaveOptions): Promise<number> {
  const { stateDir, say } = opts;
  let exitCode: 0 | 1 = 0;
  let forget: { id: Identity; outcome: 'deleted' | 'kept' | 'unknown' } | undefined;
  if (await hasIdentity(stateDir)) {
    const id = await loadIdentity(stateDir);
    const verdict = leaveVerdict(id.host, await askController(id, opts.keepHost, opts.callTimeoutMs ?? 10_000));
    for (const line of verdict.lines) say(line);
    if (!verdict.clean) return verdict.exitCode;
    exitCode = verdict.exitCode;
    if (verdict.forget) forget = { id, outcome: verdict.host === 'still-declared' ? 'unknown' : verdict.host };
  } else {
    const left = await loadLeft(stateDir);
    if (!left) throw new Error(`no agent identity in ${stateDir} and no record of a leave: nothing to leave`);
    say(`host ${left.host} already left at ${left.leftAt}; cleaning this host again`);
  }
  const stopped = await stopRecordedAgent(stateDir);
  if (stopped !== undefined) say(`stopped the agent running on ${stateDir} (PID ${stopped})`);
  const dataplane = await opts.openDataplane();
  try {
    const result = await cleanHost(dataplane);
    say(`removed ${result.removed}`);
    for (const e of result.errors) say(`  not removed: ${e.object}: ${e.message}`);
    if (result.errors.length || result.left.length) {
      say(`${result.left.length} change(s) still to make; run leave again`);
      exitCode = 1;
    }
  } finally {
    await dataplane.close();
  }
  if (forget) {
    await forgetIdentity(stateDir, { host: forget.id.host, site: forget.id.site, leftAt: new Date().toISOString(), outcome: forget.outcome });
    say(`the identity in ${stateDir} is dropped; "weft agent join" makes a new one`);
  }
  return exitCode;
}
