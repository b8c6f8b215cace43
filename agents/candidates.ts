// Which controller replica an agent talks to (pure). An agent is given a list of controller
// addresses (`--controller a,b,c`; a DNS name among them stands for all its records). It starts
// at a random one, so that agents spread over the replicas, and when a session ends it tries
// the others in a fresh random order before the one it just left: a dead replica's agents
// scatter over the survivors instead of all landing on the next one in the list.

/** Bounds on `--controller`: a list longer than this is a mistake, not a fabric. */
export const MAX_CONTROLLER_ADDRESSES = 32;
/** A unix socket path is at most 107 bytes on Linux; a DNS name 253 characters plus a port. */
export const MAX_CONTROLLER_ADDRESS_LENGTH = 300;
/** What DNS may expand the list to: each record is a candidate, but not without end. */
export const MAX_CONTROLLER_CANDIDATES = 64;

export type ControllerTarget = { path: string } | { host: string; port: number };

/** `host:port`, `[v6]:port` or `unix:/path`; undefined (with why) when it is none of them. */
export function parseTarget(address: string): ControllerTarget | { problem: string } {
  if (address.startsWith('unix:')) {
    const path = address.slice('unix:'.length);
    return path.startsWith('/') ? { path } : { problem: 'a unix socket address needs an absolute path (unix:/path)' };
  }
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(address);
  if (!m) return { problem: 'must be host:port, [ipv6]:port or unix:/path' };
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return { problem: `port ${m[2]} is not from 1 to 65535` };
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/**
 * The addresses in a `--controller` value: comma-separated, each checked, duplicates dropped,
 * order kept. Throws an error naming the flag and the offending entry.
 */
export function parseControllerList(value: string | readonly string[], flag = '--controller'): string[] {
  const raw = typeof value === 'string' ? value : value.join(',');
  if (raw.length > MAX_CONTROLLER_ADDRESSES * (MAX_CONTROLLER_ADDRESS_LENGTH + 1)) throw new Error(`${flag}: the list is too long (at most ${MAX_CONTROLLER_ADDRESSES} addresses)`);
  const entries = raw.split(',').map((s) => s.trim());
  if (entries.length > MAX_CONTROLLER_ADDRESSES) throw new Error(`${flag}: ${entries.length} addresses; at most ${MAX_CONTROLLER_ADDRESSES}`);
  const out: string[] = [];
  entries.forEach((entry, i) => {
    const at = entries.length > 1 ? ` (entry ${i + 1})` : '';
    if (!entry) throw new Error(`${flag}: empty address${at}; give host:port or unix:/path, separated by commas`);
    if (entry.length > MAX_CONTROLLER_ADDRESS_LENGTH) throw new Error(`${flag}: address${at} is ${entry.length} characters; at most ${MAX_CONTROLLER_ADDRESS_LENGTH}`);
    const t = parseTarget(entry);
    if ('problem' in t) throw new Error(`${flag}: "${entry}"${at} ${t.problem}`);
    if (!out.includes(entry)) out.push(entry);
  });
  return out;
}

/** `host:port` for a resolved address, bracketing IPv6. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The order to try candidates in: a random permutation, with the one just left (if any, and if
 * there is another) last. `random` returns numbers in [0, 1), like Math.random.
 */
export function roundOrder(candidates: readonly string[], justLeft: string | undefined, random: () => number): string[] {
  const order = [...candidates];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const at = justLeft === undefined ? -1 : order.indexOf(justLeft);
  if (at >= 0 && order.length > 1) order.push(...order.splice(at, 1));
  return order;
}
