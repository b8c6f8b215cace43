// `weft plan` and `weft apply`: topology files against the fabric over the REST API.
// Exit codes: 0 done (plan: no changes), 2 plan --detailed-exitcode found changes, 1 anything
// else that went wrong, including bad flags for plan (its 2 is taken by "changes"; apply's are 2).
import { formatRef, type ResourceRef } from '../model/index.js';
import {
  ApiError,
  ApplyError,
  countActions,
  describeNotConverged,
  executePlan,
  failureText,
  formatChange,
  hasChanges,
  loadTopology,
  planAgainstServer,
  planJson,
  problemJson,
  renderPlan,
  renderProblems,
  topologyNameFromPath,
  topologyNameProblem,
  uncheckedText,
  waitForConvergence,
  type ConvergenceReport,
  type Style,
  type TopologyPlan,
  type TopologyProblem,
  type WriteAction,
} from '../topology/index.js';
import { UsageError, parseCommand } from './args.js';
import { CONNECTION_OPTIONS, apiCommand, apiErrorText, connect, oneOf, parseConcurrency, parseDuration, styleFor } from './fabric-support.js';

export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

export const PLAN_USAGE = `weft plan -f FILE|DIR|- ... [--topology NAME] [--prune] [--adopt] [-o text|json] [--detailed-exitcode]`;
export const APPLY_USAGE = `weft apply -f FILE|DIR|- ... [--topology NAME] [--prune] [--adopt] [--dry-run] [--wait [--timeout 2m]]
                 [--concurrency 16] [-o text|json]`;

const FILES = '-f takes files, directories (their *.yaml and *.yml) and - for standard input; the topology name is the file\'s or directory\'s unless --topology.';
const PLAN = apiCommand(
  'weft plan',
  PLAN_USAGE,
  FILES,
  'Shows what apply would create (+), update (~), delete (-, with --prune) or leave (=). Exit codes:',
  '0 done, 1 any error (bad flags too), and with --detailed-exitcode 0 no changes, 2 changes.',
);
const APPLY = apiCommand(
  'weft apply',
  APPLY_USAGE,
  FILES,
  'Writes the plan in dependency order; --wait waits until its networks and endpoints are programmed.',
);

const COMMON = {
  ...CONNECTION_OPTIONS,
  filename: { type: 'string', short: 'f', multiple: true },
  topology: { type: 'string' },
  prune: { type: 'boolean', default: false },
  adopt: { type: 'boolean', default: false },
  output: { type: 'string', short: 'o' },
  concurrency: { type: 'string' },
} as const;

interface Common {
  files: string[];
  topology: string;
  prune: boolean;
  adopt: boolean;
  json: boolean;
  concurrency: number;
}

function common(values: { filename?: string[]; topology?: string; prune?: boolean; adopt?: boolean; output?: string; concurrency?: string }, usage: string): Common {
  const files = values.filename ?? [];
  if (!files.length) throw new UsageError(`-f FILE|DIR is required\nUsage: ${usage}`);
  let topology = values.topology;
  if (topology === undefined) {
    const names = [...new Set(files.map(topologyNameFromPath))];
    if (names.length !== 1 || names[0] === undefined) {
      throw new UsageError(`cannot derive one topology name from ${files.map((f) => `"${f}"`).join(', ')}: pass --topology NAME`);
    }
    topology = names[0];
  }
  const problem = topologyNameProblem(topology);
  if (problem) throw new UsageError(`--topology "${topology}": ${problem}`);
  return { files, topology, prune: !!values.prune, adopt: !!values.adopt, json: oneOf(values.output, ['text', 'json'] as const, '-o', 'text') === 'json', concurrency: parseConcurrency(values.concurrency, 16) };
}

/** Reads, parses and plans; problems are reported and end the command with exit 1. */
async function makePlan(c: Common, values: { server?: string; token?: string }, io: Io, style: Style): Promise<TopologyPlan | number> {
  const loaded = await loadTopology(c.files);
  if (loaded.problems.length) return reportProblems(loaded.problems, c, io, style);
  const { client, conn } = connect(values, io.env);
  let plan: TopologyPlan;
  try {
    plan = await planAgainstServer(client, loaded.docs, { topology: c.topology, prune: c.prune, adopt: c.adopt, concurrency: c.concurrency });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return reportError(`cannot read the fabric: ${apiErrorText(err, conn)}`, c, io);
  }
  if (plan.problems.length) return reportProblems(plan.problems, c, io, style, plan.unchecked);
  return plan;
}

function reportProblems(problems: TopologyProblem[], c: Common, io: Io, style: Style, unchecked: ResourceRef[] = []): number {
  if (c.json) {
    const notChecked = unchecked.length ? { unchecked: unchecked.map(formatRef) } : {};
    io.stdout.write(`${JSON.stringify({ topology: c.topology, error: 'invalid topology: nothing was applied', problems: problems.map(problemJson), ...notChecked }, null, 2)}\n`);
  } else {
    const rest = unchecked.length ? `\n${uncheckedText(unchecked.length)}` : '';
    io.stderr.write(`${renderProblems(problems, style)}\n${problems.length} problem${problems.length === 1 ? '' : 's'}: nothing was applied.${rest}\n`);
  }
  return 1;
}

function reportError(message: string, c: Common, io: Io, extra: Record<string, unknown> = {}): number {
  if (c.json) io.stdout.write(`${JSON.stringify({ topology: c.topology, error: message, ...extra }, null, 2)}\n`);
  else io.stderr.write(`weft: ${message}\n`);
  return 1;
}

export async function planCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseCommand(PLAN, argv, { options: { ...COMMON, 'detailed-exitcode': { type: 'boolean', default: false } }, allowPositionals: false });
  const c = common(values, PLAN_USAGE);
  const style = styleFor(io.stdout, io.env);
  const plan = await makePlan(c, values, io, styleFor(io.stderr, io.env));
  if (typeof plan === 'number') return plan;
  io.stdout.write(c.json ? `${JSON.stringify(planJson(plan), null, 2)}\n` : `${renderPlan(plan, style)}\n`);
  return values['detailed-exitcode'] && hasChanges(plan) ? 2 : 0;
}

export async function applyCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseCommand(APPLY, argv, {
    options: { ...COMMON, 'dry-run': { type: 'boolean', default: false }, wait: { type: 'boolean', default: false }, timeout: { type: 'string' } },
    allowPositionals: false,
  });
  const c = common(values, APPLY_USAGE);
  if (values.timeout !== undefined && !values.wait) throw new UsageError('--timeout goes with --wait');
  const timeoutMs = parseDuration(values.timeout ?? '2m', '--timeout');
  const style = styleFor(io.stdout, io.env);
  const started = performance.now();
  const plan = await makePlan(c, values, io, styleFor(io.stderr, io.env));
  if (typeof plan === 'number') return plan;
  const result: Record<string, unknown> = { plan: planJson(plan) };
  const finish = (code: number) => {
    if (c.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return code;
  };

  if (values['dry-run']) {
    if (!c.json) io.stdout.write(`${renderPlan(plan, style)}\n\nDry run: the whole apply was checked against the fabric; nothing was written.\n`);
    result.dryRun = true;
    return finish(0);
  }

  const { client, conn } = connect(values, io.env);
  const n = countActions(plan);
  if (hasChanges(plan)) {
    const progress = io.stdout.isTTY && !c.json;
    try {
      const { written } = await executePlan(plan, client, {
        concurrency: c.concurrency,
        onWrite: c.json ? undefined : (a, done, total) => io.stdout.write(`${progress ? '\r\x1b[K' : ''}${writeLine(a, style)}\n${progress ? style.dim(`[${done}/${total}]`) : ''}`),
      });
      if (progress) io.stdout.write('\r\x1b[K');
      result.applied = { written, seconds: round((performance.now() - started) / 1000) };
    } catch (err) {
      if (!(err instanceof ApplyError)) throw err;
      if (progress) io.stdout.write('\r\x1b[K');
      const failures = err.failures.map(failureText);
      if (c.json) return reportError(err.message, c, io, { written: err.written, failures });
      io.stderr.write(`${failures.map((f) => `${style.red('error')}: ${f}`).join('\n')}\nweft: ${err.message}\n`);
      return 1;
    }
  }
  if (!c.json) {
    const took = `${round((performance.now() - started) / 1000)}s`;
    io.stdout.write(hasChanges(plan) ? `Applied topology "${plan.topology}": ${n.create} created, ${n.update} updated, ${n.delete} deleted, ${n.unchanged} unchanged (${took}).\n` : `No changes: topology "${plan.topology}" already matches the fabric (${n.unchanged} resources).\n`);
  }

  if (!values.wait) return finish(0);
  const targets = plan.actions.filter((a) => a.op !== 'delete' && (a.ref.kind === 'Network' || a.ref.kind === 'Endpoint')).map((a) => a.ref);
  const tty = io.stdout.isTTY && !c.json;
  let report: ConvergenceReport;
  try {
    report = await waitForConvergence(client, targets, {
      timeoutMs,
      onProgress: tty ? (r, ms) => io.stdout.write(`\r\x1b[Kwaiting: ${progressText(r)} (${Math.round(ms / 1000)}s)`) : undefined,
    });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (tty) io.stdout.write('\n');
    return reportError(`wait: ${apiErrorText(err, conn)}`, c, io);
  }
  if (tty) io.stdout.write('\r\x1b[K');
  result.wait = report;
  const waited = `${round((performance.now() - started) / 1000)}s`;
  if (report.converged) {
    if (!c.json) io.stdout.write(`Converged: ${progressText(report)} (${waited}).\n`);
    return finish(0);
  }
  if (!c.json) io.stderr.write(`weft: wait: not converged within ${values.timeout ?? '2m'}: ${progressText(report)}\n${describeNotConverged(report).join('\n')}\n`);
  return finish(1);
}

function writeLine(a: WriteAction, s: Style): string {
  switch (a.op) {
    case 'create':
      return s.green(`+ created ${formatRef(a.ref)}`);
    case 'update':
      return (
        s.yellow(`~ updated ${formatRef(a.ref)}`) +
        (a.changes.length ? s.dim(` (${a.changes.map((c) => formatChange(c)).join('; ')})`) : '') +
        (a.drift ? s.yellow(' ! it had been changed outside this topology') : '') +
        (a.adopt ? s.yellow(' ! taken over: it had no owner') : '')
      );
    case 'delete':
      return s.red(`- deleted ${formatRef(a.ref)}`);
    default: {
      const never: never = a;
      return String(never);
    }
  }
}

function progressText(r: ConvergenceReport): string {
  return `${r.networks.done}/${r.networks.total} networks and ${r.endpoints.done}/${r.endpoints.total} endpoints programmed`;
}

const round = (x: number) => Math.round(x * 100) / 100;
