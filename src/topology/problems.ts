// What can go wrong with a topology, as values (problems found while reading and planning) and
// as typed errors (what the shell throws). The CLI maps error classes to exit codes and text.
import type { FieldIssue } from '../errors/index.js';
import { formatRef, type ResourceRef } from '../model/index.js';
import type { Position } from './document.js';

/** One thing wrong with the input, located in a file when it can be. */
export interface TopologyProblem {
  at?: Position;
  /** The resource the problem is about, e.g. `Network red/web`. */
  resource?: string;
  /** The field as the API names it, e.g. `spec.subnets[1].cidr`. */
  field?: string;
  message: string;
}

export function formatPosition(p: Position): string {
  return `${p.file}:${p.line}:${p.column}`;
}

/** `file:line:column: Network red/web: spec.mtu: must be between 576 and 65535` */
export function formatProblem(p: TopologyProblem): string {
  return [p.at ? formatPosition(p.at) : undefined, p.resource, p.field, p.message].filter((x) => x !== undefined && x !== '').join(': ');
}

/** A problem+json answer (or a transport failure, with status 0) from the REST API. */
export class ApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly detail: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(`${method} ${path}: ${status ? `${status} ` : ''}${detail}`);
    this.name = 'ApiError';
  }
}

/** One write of an apply that the server refused or that could not be made. */
export interface WriteFailure {
  op: 'create' | 'update' | 'delete';
  ref: ResourceRef;
  at?: Position;
  status: number;
  message: string;
  issues: FieldIssue[];
}

export function failureText(f: WriteFailure): string {
  const why = f.issues.length ? f.issues.map((i) => `${i.field}: ${i.message}`).join('; ') : f.message;
  const hint =
    f.status === 409 && f.issues.some((i) => i.field === 'metadata.resourceVersion')
      ? ' (changed by someone else since this apply read it; run weft plan/apply again)'
      : f.status === 409 && f.op === 'create'
        ? ' (created by someone else since this apply read the fabric; run weft plan/apply again)'
        : '';
  const where = f.at ? `${formatPosition(f.at)}: ` : '';
  return `${where}${formatRef(f.ref)}: ${f.op} refused${f.status ? ` (${f.status})` : ''}: ${why}${hint}`;
}

/** An apply stopped at its first refused write; what was written before it stays written. */
export class ApplyError extends Error {
  constructor(
    readonly failures: WriteFailure[],
    readonly written: number,
  ) {
    super(`apply stopped: ${failures.length} write${failures.length === 1 ? '' : 's'} refused after ${written} succeeded; fix and run apply again (it picks up where it stopped)`);
    this.name = 'ApplyError';
  }
}
