// When authenticated principals may have lost their standing: a tenant token's record was
// deleted, or a Tenant was deleted, created (a namesake does not inherit the old one's
// tokens) or changed (marked deleting). Driven by the intent cache's etcd watch, so a
// revocation made through any controller replica, or straight in etcd, reaches every
// replica's open channels.

/** The part of the intent cache this reads. */
export interface RevocationSource {
  subscribe(listener: (e: { type: 'added' | 'modified' | 'deleted'; ref: { kind: string } }) => void): () => void;
  /** Called with the secret path ([area, ...]) of every deleted secret, in watch order. */
  subscribeSecretDeletions(listener: (path: string[]) => void): () => void;
}

/**
 * Calls `recheck` (synchronously, in etcd order, before any later change is delivered) whenever
 * some principal may have been revoked; the caller re-checks its principals. Returns a stop.
 */
export function watchRevocations(source: RevocationSource, recheck: () => void, areas: readonly string[]): () => void {
  const offResources = source.subscribe((e) => {
    // Modified too: a tenant marked deleting (status.phase) takes its tokens' standing with it.
    if (e.ref.kind === 'Tenant') recheck();
  });
  const offSecrets = source.subscribeSecretDeletions((path) => {
    if (areas.includes(path[0] ?? '')) recheck();
  });
  return () => {
    offResources();
    offSecrets();
  };
}
