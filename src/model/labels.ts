// Label selectors in the Kubernetes syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`,
// `a`, `!a`, joined by commas. Parsing fails with a message; matching is pure.
import { labelKeyProblem } from './fields.js';

export type Requirement =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'absent'; key: string };

export type Selector = Requirement[];

export function parseSelector(text: string): Selector | { error: string } {
  const out: Selector = [];
  for (const term of splitTerms(text)) {
    const t = term.trim();
    if (t === '') continue;
    let m: RegExpMatchArray | null;
    let req: Requirement;
    if ((m = t.match(/^([^\s!=(),]+)\s+(in|notin)\s*\(([^()]*)\)$/))) {
      const values = m[3]!.split(',').map((v) => v.trim()).filter((v) => v !== '');
      if (!values.length) return { error: `"${t}": ${m[2]} needs at least one value` };
      req = { op: m[2] as 'in' | 'notin', key: m[1]!, values };
    } else if ((m = t.match(/^([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)$/))) {
      req = { op: m[2] === '!=' ? 'neq' : 'eq', key: m[1]!, value: m[3]! };
    } else if ((m = t.match(/^!\s*([^\s!=(),]+)$/))) {
      req = { op: 'absent', key: m[1]! };
    } else if ((m = t.match(/^([^\s!=(),]+)$/))) {
      req = { op: 'exists', key: m[1]! };
    } else {
      return { error: `cannot parse "${t}"` };
    }
    const problem = labelKeyProblem(req.key);
    if (problem) return { error: `"${req.key}": ${problem}` };
    out.push(req);
  }
  return out;
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

export function matchesSelector(selector: Selector, labels: Record<string, string>): boolean {
  return selector.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = labels[r.key];
    switch (r.op) {
      case 'eq':
        return has && v === r.value;
      case 'neq':
        return !has || v !== r.value;
      case 'in':
        return has && r.values.includes(v!);
      case 'notin':
        return !has || !r.values.includes(v!);
      case 'exists':
        return has;
      case 'absent':
        return !has;
      default: {
        const never: never = r;
        return never;
      }
    }
  });
}
