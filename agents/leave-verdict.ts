// What `weft agent leave` does with the controller's answer. PURE.
//
// The host's own state is cleaned only when the controller no longer counts on it: the Host
// was deleted or marked left, it is already gone (a second leave), or the controller cannot
// be told at all because it predates leave (UNIMPLEMENTED). A refusal (endpoints still on the
// host) or an unreachable controller changes nothing here: the workloads keep working.
import { status } from '@grpc/grpc-js';

export type LeaveAnswer =
  | { ok: true; hostName: string; deleted: boolean }
  | { ok: false; code: number; details: string };

export interface LeaveVerdict {
  /** Remove everything Weft made on this host (after stopping a running agent). */
  clean: boolean;
  /** Drop the identity (certificate, CA, controllers): it no longer speaks for a host. */
  forget: boolean;
  /** Whether the Host is gone from the controller ('deleted'), kept marked left, or still there. */
  host: 'deleted' | 'kept' | 'unknown' | 'still-declared';
  exitCode: 0 | 1;
  /** What to tell the operator, one line each. */
  lines: string[];
}

export function leaveVerdict(name: string, answer: LeaveAnswer): LeaveVerdict {
  if (answer.ok) {
    return answer.deleted
      ? { clean: true, forget: true, host: 'deleted', exitCode: 0, lines: [`host ${name} deleted from the controller`] }
      : { clean: true, forget: true, host: 'kept', exitCode: 0, lines: [`host ${name} kept, marked left: a replacement takes it over by joining as ${name} with a token whose spec.rekey lists ${name}`] };
  }
  const d = answer.details;
  switch (answer.code) {
    case status.NOT_FOUND:
      return { clean: true, forget: true, host: 'deleted', exitCode: 0, lines: [`host ${name} is already gone from the controller (${d})`] };
    case status.PERMISSION_DENIED:
      // Deleted and re-created, re-keyed by a replacement, or already left: this identity
      // speaks for nothing any more, which is what leave is for.
      return { clean: true, forget: true, host: 'unknown', exitCode: 0, lines: [`the controller no longer accepts this host's certificate (${d}); this host has left`] };
    case status.UNIMPLEMENTED:
      return {
        clean: true,
        forget: false,
        host: 'still-declared',
        exitCode: 1,
        lines: [
          `the controller does not support leave (it is older than this agent): ${d}`,
          `host ${name} is still declared there: delete it with "weft delete host ${name}", or upgrade the controller and run leave again`,
        ],
      };
    case status.ABORTED:
    case status.FAILED_PRECONDITION:
      return {
        clean: false,
        forget: false,
        host: 'still-declared',
        exitCode: 1,
        lines: [
          `the controller refused: ${d}`,
          `move the endpoints off first ("weft drain ${name} --auto"), delete the host with its endpoints ("weft delete host ${name} --cascade"), or leave with --keep-host for a replacement to take them over`,
          'nothing was changed on this host',
        ],
      };
    default:
      return {
        clean: false,
        forget: false,
        host: 'still-declared',
        exitCode: 1,
        lines: [`cannot leave: ${d} (${status[answer.code] ?? answer.code})`, 'nothing was changed on this host; run leave again when a controller answers'],
      };
  }
}
