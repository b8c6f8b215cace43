// The worker thread's entry: registers tsx (the agent runs from TypeScript sources, no build
// output) and loads prober-worker.ts. A .ts entry cannot be given to Worker directly: under
// Node 20 the parent's `--import tsx` does not make .ts loadable in a worker.
import { register } from 'tsx/esm/api';

register();
await import('./prober-worker.ts');
