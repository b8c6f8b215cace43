// Topology text → validated documents, or problems located at `file:line:column`. Pure: the
// caller reads the files. Every YAML error and warning (duplicate keys, unknown tags, syntax)
// is a problem, as are alias bombs (the yaml package's default alias limit stops them), unknown
// kinds and fields, invalid values and the same resource declared twice.
import { LineCounter, isAlias, parseAllDocuments, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { KINDS, KIND_NAMES, formatRef, type ResourceRef } from '../model/index.js';
import { disallowedFieldReason, isTopologyKind, refKey, topologyDocumentSchema, TOPOLOGY_KINDS, type TopologyDoc } from './document.js';
import { formatFieldPath, locatorFor, parseFieldPath, type Locator, type PathSegment } from './locate.js';
import { formatPosition, type TopologyProblem } from './problems.js';

export interface TopologySource {
  /** The name problems are reported under: the path as given, or `<stdin>`. */
  file: string;
  text: string;
}

export interface ParseResult {
  docs: TopologyDoc[];
  problems: TopologyProblem[];
}

export function parseTopology(sources: readonly TopologySource[]): ParseResult {
  const docs: TopologyDoc[] = [];
  const problems: TopologyProblem[] = [];
  for (const s of sources) {
    const r = parseSource(s);
    docs.push(...r.docs);
    problems.push(...r.problems);
  }
  problems.push(...duplicateProblems(docs));
  return { docs, problems };
}

export function parseSource(source: TopologySource): ParseResult {
  const lines = new LineCounter();
  const parsed = parseAllDocuments(source.text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const docs: TopologyDoc[] = [];
  const problems: TopologyProblem[] = [];
  const at = (offset: number) => {
    const p = lines.linePos(offset);
    return { file: source.file, line: p.line, column: p.col };
  };
  for (const doc of Array.from(parsed) as Document.Parsed[]) {
    const yamlIssues = [...doc.errors, ...doc.warnings];
    if (yamlIssues.length) {
      for (const e of yamlIssues) problems.push({ at: at(e.pos[0]), message: `${yamlMessage(e.message)} (${e.code})` });
      continue;
    }
    const loc = locatorFor(doc, source.file, lines);
    let js: unknown;
    try {
      js = doc.toJS(); // default maxAliasCount: an alias bomb throws here, in milliseconds
    } catch (err) {
      problems.push({ at: firstAlias(doc, loc), message: `cannot be expanded: ${err instanceof Error ? err.message : String(err)}` });
      continue;
    }
    if (js === null || js === undefined) continue; // an empty document (e.g. a trailing ---)
    const r = validateDocument(js, loc);
    if ('problems' in r) problems.push(...r.problems);
    else docs.push(r.doc);
  }
  return { docs, problems };
}

/** yaml's messages end with " at line L, column C" when it knows; the position is reported separately. */
function yamlMessage(m: string): string {
  return m.replace(/ at line \d+, column \d+:?[\s\S]*$/, '');
}

function firstAlias(doc: Document.Parsed, loc: Locator) {
  let offset: number | undefined;
  visit(doc, {
    Alias(_, node) {
      if (!isAlias(node) || !node.range) return undefined;
      offset = node.range[0];
      return visit.BREAK;
    },
  });
  return offset === undefined ? loc.start : loc.atOffset(offset);
}

function validateDocument(js: unknown, loc: Locator): { doc: TopologyDoc } | { problems: TopologyProblem[] } {
  if (typeof js !== 'object' || Array.isArray(js)) {
    return { problems: [{ at: loc.start, message: 'a topology document must be a mapping with kind, metadata and spec' }] };
  }
  const obj = js as Record<string, unknown>;
  const resource = resourceName(obj);
  const kind = obj.kind;
  if (kind === undefined) return { problems: [{ at: loc.start, resource, field: 'kind', message: `is required (one of ${TOPOLOGY_KINDS.join(', ')})` }] };
  if (typeof kind !== 'string' || !isTopologyKind(kind)) {
    return { problems: [{ at: loc.locate(['kind']), resource, field: 'kind', message: unknownKindMessage(kind) }] };
  }
  const r = topologyDocumentSchema(kind).safeParse(obj, { reportInput: true });
  if (!r.success) return { problems: issueProblems(r.error.issues, loc, resource) };
  const data = r.data as { metadata: { name: string; tenant?: string; network?: string; labels?: Record<string, string> }; spec?: Record<string, unknown> };
  const ref: ResourceRef = { kind, name: data.metadata.name };
  if (data.metadata.tenant !== undefined) ref.tenant = data.metadata.tenant;
  if (data.metadata.network !== undefined) ref.network = data.metadata.network;
  return {
    doc: {
      kind,
      ref,
      labels: { ...(data.metadata.labels ?? {}) },
      spec: obj.spec ?? {},
      parsedSpec: data.spec ?? (KINDS[kind].spec.parse({}) as Record<string, unknown>),
      source: { at: loc.start, locate: (field) => loc.locate(parseFieldPath(field)) },
    },
  };
}

function resourceName(obj: Record<string, unknown>): string | undefined {
  const m = obj.metadata as Record<string, unknown> | undefined;
  if (typeof obj.kind !== 'string' || !m || typeof m.name !== 'string') return undefined;
  const parts = [m.tenant, m.network, m.name].filter((p): p is string => typeof p === 'string');
  return `${obj.kind} ${parts.join('/')}`;
}

function unknownKindMessage(kind: unknown): string {
  if (kind === 'JoinToken') return 'join tokens are not managed in topology files (their secret is shown only once); create them with the API';
  const text = typeof kind === 'string' ? `"${kind}"` : JSON.stringify(kind);
  const near = typeof kind === 'string' ? KIND_NAMES.find((k) => k.toLowerCase() === kind.toLowerCase() || KINDS[k].plural === kind.toLowerCase()) : undefined;
  return `unknown kind ${text}${near && near !== 'JoinToken' ? ` (did you mean ${near}?)` : ''}; expected one of ${TOPOLOGY_KINDS.join(', ')}`;
}

function issueProblems(issues: readonly z.core.$ZodIssue[], loc: Locator, resource: string | undefined): TopologyProblem[] {
  const out: TopologyProblem[] = [];
  for (const i of issues) {
    const path = i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)) as PathSegment[];
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) {
        out.push({ at: loc.locate([...path, k], { key: true }), resource, field: formatFieldPath([...path, k]), message: disallowedFieldReason(path, k) ?? 'unknown field' });
      }
      continue;
    }
    const missing = i.code === 'invalid_type' && (i as { input?: unknown }).input === undefined;
    // A bad label key is about the key, not its value.
    const onKey = path.length === 3 && path[0] === 'metadata' && path[1] === 'labels' && i.code === 'custom';
    out.push({ at: loc.locate(path, { key: onKey }), resource, field: formatFieldPath(path) || undefined, message: missing ? 'is required' : i.message });
  }
  return out;
}

/** The same kind, parents and name twice, anywhere in the files. */
export function duplicateProblems(docs: readonly TopologyDoc[]): TopologyProblem[] {
  const seen = new Map<string, TopologyDoc>();
  const out: TopologyProblem[] = [];
  for (const d of docs) {
    const key = refKey(d.ref);
    const first = seen.get(key);
    if (first) out.push({ at: d.source.locate('metadata.name'), resource: formatRef(d.ref), message: `is declared twice (first at ${formatPosition(first.source.at)})` });
    else seen.set(key, d);
  }
  return out;
}

