// A network's remote entries change the same way on every host: each host holds the shared list
// minus its own endpoints. Diffing the shared list once and specialising the result per host
// costs the size of the change per host, where diffing every host's list costs the size of the
// network per host (endpoints × hosts per change). Pure.
import type { RemoteEndpoint } from '../protocol/index.js';
import { compareText } from './names.js';
import { pairedChanges, type KeyedChanges, type PairedChange } from './segment-patch.js';

export class SharedRemoteDiff {
  private constructor(
    private readonly upsert: readonly PairedChange<RemoteEndpoint>[],
    private readonly remove: readonly RemoteEndpoint[],
  ) {}

  /**
   * The diff of two shared lists, or undefined when either is not in strict MAC order (a
   * duplicate MAC), where per-host lists must be compared as they are.
   */
  static of(before: readonly RemoteEndpoint[], after: readonly RemoteEndpoint[]): SharedRemoteDiff | undefined {
    const p = pairedChanges(before, after, (r) => r.mac);
    return p && new SharedRemoteDiff(p.upsert, p.remove);
  }

  /** What keyedChanges would find between `host`'s lists before and after: each without the host's own entries. */
  forHost(host: string): KeyedChanges<RemoteEndpoint> {
    const upsert: RemoteEndpoint[] = [];
    const remove: string[] = [];
    for (const c of this.upsert) {
      if (c.after.host !== host) upsert.push(c.after);
      // The MAC moved onto this host: the host held it as a remote and must drop it.
      else if (c.before && c.before.host !== host) remove.push(c.before.mac);
    }
    const moved = remove.length;
    for (const r of this.remove) if (r.host !== host) remove.push(r.mac);
    // Two runs, each in MAC order: sort only when both contributed.
    if (moved > 0 && remove.length > moved) remove.sort(compareText);
    return { upsert, remove };
  }
}
