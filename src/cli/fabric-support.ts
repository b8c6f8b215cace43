// Shared by the commands that talk to the REST API (plan, apply, get, describe, delete): where
// the server is, durations, kind names as typed, colour only on a terminal.
import { KINDS, KIND_NAMES, type KindName } from '../model/index.js';
import { COLOR, PLAIN, WeftClient, type Style } from '../topology/index.js';
import { UsageError } from './args.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:7480';

/** The options every API command takes. */
export const CONNECTION_OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
} as const;

export function clientFrom(values: { server?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): WeftClient {
  const server = values.server ?? env.WEFT_SERVER ?? DEFAULT_SERVER;
  if (!/^https?:\/\/[^/]+/.test(server)) throw new UsageError(`--server must be a URL such as ${DEFAULT_SERVER}, got "${server}"`);
  return new WeftClient({ server, token: values.token ?? env.WEFT_TOKEN });
}

/** `90s`, `2m`, `1m30s`, `500ms`, `1h`; a bare number is seconds. */
export function parseDuration(text: string, flag: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m) throw new UsageError(`${flag} must be a duration such as 90s, 2m or 1m30s, got "${text}"`);
    total += Number(m[1]) * unit[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  if (!text) throw new UsageError(`${flag} must not be empty`);
  return total;
}

export function parseConcurrency(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError(`--concurrency must be an integer from 1 to 256, got "${text}"`);
  return n;
}

/** `network`, `networks`, `Network`, `join-token`, `jointokens` → the kind. */
export function parseKind(text: string | undefined): KindName {
  if (!text) throw new UsageError(`a KIND is required: one of ${KIND_NAMES.map((k) => KINDS[k].plural).join(', ')}`);
  const t = text.toLowerCase().replace(/-/g, '');
  const k = KIND_NAMES.find((n) => {
    const plural = KINDS[n].plural.replace(/-/g, '');
    return n.toLowerCase() === t || plural === t;
  });
  if (!k) throw new UsageError(`unknown kind "${text}"; expected one of ${KIND_NAMES.map((n) => KINDS[n].plural).join(', ')} (singular or plural)`);
  return k;
}

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function styleFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Style {
  return stream.isTTY && !env.NO_COLOR ? COLOR : PLAIN;
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}
