// Small helpers for the CLI's flags: a bad flag is one clear line and exit code 2.
export class UsageError extends Error {}

export function parseListen(value: string, flag: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${flag} must be HOST:PORT (e.g. 127.0.0.1:7480), got "${value}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export function parseEndpoints(value: string, flag: string): string[] {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const e of list) {
    if (!/^https?:\/\/[^/]+$/.test(e) && !/^[^:/]+:\d+$/.test(e)) throw new UsageError(`${flag}: "${e}" is not an etcd endpoint (http[s]://host:port)`);
  }
  if (!list.length) throw new UsageError(`${flag} needs at least one endpoint`);
  return list;
}
