// "Look again" when a network namespace the program names appears or goes. Adding one (`ip netns
// add`, a container runtime) makes no netlink event in the host's namespace, so without this an
// attachment waiting for its namespace would wait for the periodic resync. Only names the
// program wants count: other namespaces come and go (every container) and are not news.
// `ip netns add` creates the file, then bind-mounts the namespace on it: the file's event can come
// before it is a namespace, so a name is reported twice, at once and once more a moment later.
import { watch, type FSWatcher } from 'node:fs';

export const NETNS_DIR = '/run/netns';

export interface NetnsWatch {
  /** Arms the watch if it is not armed (the directory may not exist until the first namespace). */
  arm(): void;
  close(): void;
}

/** When a wanted name is reported again after its event: long enough for the bind mount. */
const AGAIN_MS = 500;

export function netnsWatch(wanted: (name: string) => boolean, onChange: (name: string) => void, dir = NETNS_DIR): NetnsWatch {
  let watcher: FSWatcher | undefined;
  const again = new Set<NodeJS.Timeout>();
  const report = (name: string) => {
    onChange(name);
    const t = setTimeout(() => {
      again.delete(t);
      onChange(name);
    }, AGAIN_MS);
    t.unref();
    again.add(t);
  };
  return {
    arm() {
      if (watcher) return;
      try {
        watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (typeof name === 'string' && wanted(name)) report(name);
        });
        watcher.on('error', () => {
          watcher?.close();
          watcher = undefined; // armed again at the next resync
        });
      } catch {
        watcher = undefined; // no such directory yet: the periodic resync covers it and re-arms
      }
    },
    close() {
      for (const t of again) clearTimeout(t);
      again.clear();
      watcher?.close();
      watcher = undefined;
    },
  };
}
