// A process that builds a small lab, starts a sleeper inside it, prints one JSON line
// ({ prefix, namespaces, sleeperPid }) and then, by argv[2]:
//   hang  - waits forever (the test kills it with SIGKILL or SIGTERM);
//   throw - dies of an uncaught exception.
// Used by lab.test.ts to check that a run's namespaces never outlive it.
import { createLab } from './lab.js';

const mode = process.argv[2] ?? 'hang';
const lab = await createLab({ sites: ['s1', 's2'], planes: ['a'], hosts: [{ name: 'n1', site: 's1' }, { name: 'n2', site: 's2' }] });
await lab.addWorkload('n1', 'w1');
const sleeper = lab.spawn(lab.ns('n1'), ['sleep', '600'], { stdio: 'ignore' });
process.stdout.write(JSON.stringify({ prefix: lab.prefix, namespaces: lab.namespaces(), sleeperPid: sleeper.pid }) + '\n');

if (mode === 'throw') {
  setTimeout(() => {
    throw new Error('crash-child: deliberate uncaught exception');
  }, 50);
} else {
  setInterval(() => {}, 60_000);
}
