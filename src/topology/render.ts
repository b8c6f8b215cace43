// How plans, problems and apply results read: as text for people (coloured only when asked) and
// as JSON for machines. Pure: the CLI decides where output goes and whether it is a terminal.
import { formatRef, type ResourceRef } from '../model/index.js';
import type { FieldChange } from './diff.js';
import { countActions, hasChanges, type PlannedAction, type TopologyPlan } from './plan.js';
import { formatPosition, formatProblem, type TopologyProblem } from './problems.js';

export interface Style {
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const ansi = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;
export const COLOR: Style = { green: ansi(32, 39), yellow: ansi(33, 39), red: ansi(31, 39), dim: ansi(2, 22), bold: ansi(1, 22) };
const id = (s: string) => s;
export const PLAIN: Style = { green: id, yellow: id, red: id, dim: id, bold: id };

const SIGN = { create: '+', update: '~', delete: '-', unchanged: '=' } as const;

export function formatValue(v: unknown): string {
  if (v === undefined) return '(unset)';
  return JSON.stringify(v);
}

export function formatChange(c: FieldChange): string {
  if (!('from' in c)) return `${c.field}: ${formatValue(c.to)} (added)`;
  if (!('to' in c)) return `${c.field}: ${formatValue(c.from)} (removed)`;
  return `${c.field}: ${formatValue(c.from)} → ${formatValue(c.to)}`;
}

function actionColor(op: PlannedAction['op'], s: Style): (x: string) => string {
  return op === 'create' ? s.green : op === 'update' ? s.yellow : op === 'delete' ? s.red : s.dim;
}

export function summaryText(plan: TopologyPlan): string {
  const n = countActions(plan);
  return `${n.create} to create, ${n.update} to update, ${n.delete} to delete, ${n.unchanged} unchanged`;
}

/** One line per resource, changed fields under updates, notes for drift, adoption and orphans. */
export function renderPlan(plan: TopologyPlan, s: Style): string {
  const lines: string[] = [s.bold(`Plan for topology "${plan.topology}": ${summaryText(plan)}.`), ''];
  const heads = plan.actions.map((a) => `${SIGN[a.op]} ${formatRef(a.ref)}`);
  const width = Math.min(60, Math.max(0, ...heads.map((h) => h.length)));
  plan.actions.forEach((a, i) => {
    const color = actionColor(a.op, s);
    const where = a.op === 'delete' ? 'not in the files (--prune)' : formatPosition(a.doc.source.at);
    lines.push(`  ${color(heads[i]!.padEnd(width))}  ${s.dim(where)}`);
    if (a.op !== 'update') return;
    for (const c of a.changes) lines.push(`      ${formatChange(c)}`);
    if (!a.changes.length) lines.push(s.dim('      (records the applied state: weft.dev/applied-hash)'));
    if (a.adopt) lines.push(s.yellow('      ! exists on the server without an owner: apply takes it over (--adopt)'));
    if (a.drift) lines.push(s.yellow('      ! changed outside this topology since its last apply'));
  });
  if (plan.orphans.length) {
    lines.push('', `${plan.orphans.length} resource${plan.orphans.length === 1 ? '' : 's'} carry this topology's label but are not in the files; --prune deletes them:`);
    for (const r of plan.orphans) lines.push(`  ${formatRef(r)}`);
  }
  if (!hasChanges(plan)) lines.push('', s.green('No changes: the fabric matches the files.'));
  return lines.join('\n');
}

/** After problems: the documents whose checks were skipped because they depend on those. */
export function uncheckedText(n: number): string {
  return `${n} more resource${n === 1 ? ' was' : 's were'} not checked: they come after these in apply order, and their checks would only repeat these problems.`;
}

export function renderProblems(problems: readonly TopologyProblem[], s: Style, limit = 100): string {
  const lines = problems.slice(0, limit).map((p) => `${s.red('error')}: ${formatProblem(p)}`);
  if (problems.length > limit) lines.push(`… and ${problems.length - limit} more`);
  return lines.join('\n');
}

const refJson = (r: ResourceRef) => ({ kind: r.kind, ...(r.tenant !== undefined ? { tenant: r.tenant } : {}), ...(r.network !== undefined ? { network: r.network } : {}), name: r.name });

export function problemJson(p: TopologyProblem): Record<string, unknown> {
  return { ...(p.at ? { file: p.at.file, line: p.at.line, column: p.at.column } : {}), ...(p.resource ? { resource: p.resource } : {}), ...(p.field ? { field: p.field } : {}), message: p.message };
}

export function planJson(plan: TopologyPlan): Record<string, unknown> {
  return {
    topology: plan.topology,
    prune: plan.prune,
    changes: hasChanges(plan),
    summary: countActions(plan),
    actions: plan.actions.map((a) => ({
      action: a.op,
      ...refJson(a.ref),
      ...(a.op !== 'delete' ? { source: formatPosition(a.doc.source.at) } : {}),
      ...(a.op === 'update' ? { changes: a.changes, drift: a.drift, adopt: a.adopt } : {}),
    })),
    orphans: plan.orphans.map(refJson),
    problems: plan.problems.map(problemJson),
  };
}
