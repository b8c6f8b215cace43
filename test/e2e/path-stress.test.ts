// Path health on busy hosts (issue 13): both CPUs saturated by busy loops at the agents' own
// priority (nobody changes it; the loops are this test's children, ended by PID), and no path
// that works may be reported down, while a real cut made during the stress is still detected
// and restored. The stress lasts WEFT_STRESS_SECONDS (default 30 s) to keep the suite short;
// the issue's 10 minutes, and detection figures, are the benchmarks' (test/bench/failover.bench.ts,
// paths.bench.ts).
//
// False downs are counted from the agents' own logged transitions (every DOWN they decided)
// and from the controller's view (/v1/paths polled through the stress). The only DOWNs
// expected are one per cut path between the cut and the restore.
//
// Zero false downs needs evidence the peer's userspace cannot delay (kernel-answered probes):
// the test reads which backend the agents run (host capability `kernel_probes`) and, with the
// UDP prober, reports its figures as a TODO instead of failing the suite.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startStress, type Stress } from '../support/stress.js';
import { waitFor } from '../lab/lab.js';
import { describeTransitions } from '../lab/path-log.js';
import { startStorageLab, type PathItem, type StorageLab } from '../lab/storage-lab.js';

const STRESS_SECONDS = boundedSeconds(process.env.WEFT_STRESS_SECONDS, 30);
/** The cut is made this far into the stress, so the stress has taken hold of the agents first. */
const CUT_AFTER_MS = Math.min(15_000, (STRESS_SECONDS * 1000) / 4);
const CUT_DETECT_TIMEOUT_MS = 10_000;
const RESTORE_TIMEOUT_MS = 30_000;
const POLL_MS = 500;

function boundedSeconds(v: string | undefined, dflt: number): number {
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(n) || n < 20 || n > 3600) throw new Error(`WEFT_STRESS_SECONDS must be an integer from 20 to 3600, not ${JSON.stringify(v)}`);
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('path health under CPU stress', () => {
  let lab: StorageLab;
  let stress: Stress | undefined;
  /** Backend per host: 'kernel' when the agent reports kernel_probes, else 'udp'. */
  const backends = new Map<string, 'kernel' | 'udp'>();

  before(async () => {
    lab = await startStorageLab({ hosts: [{ name: 'h1', site: 'dc1' }, { name: 'h2', site: 'dc1' }, { name: 'h3', site: 'dc2' }] });
    await lab.waitForPaths(`${lab.pathCount} paths up`, async () => (await lab.paths('?network=store/san&state=up')).length === lab.pathCount, 30_000, Date.now());
    for (const h of lab.hosts) backends.set(h, (await lab.kernelProbes(h)) ? 'kernel' : 'udp');
  });
  after(async () => {
    await stress?.stop();
    await lab?.destroy();
  });

  test(`${STRESS_SECONDS} s with both CPUs busy: a real cut is detected and restored, and no path that works goes down`, async (t) => {
    const backendLine = [...backends].map(([h, b]) => `${h} ${b}`).join(', ');
    const udp = [...backends.values()].some((b) => b === 'udp');
    if (udp) t.todo(`some agents probe over UDP (${backendLine}): zero false downs under stress needs kernel-answered probes (kernel_probes)`);
    const isCut = (p: { host: string; peer: string; plane: string }) => p.plane === 'a' && lab.crossSite(p);
    const cutCount = (await lab.paths('?network=store/san')).filter(isCut).length;
    assert.ok(cutCount > 0, 'the lab has paths between the sites on plane a');

    stress = startStress();
    const t0 = Date.now();
    const end = t0 + STRESS_SECONDS * 1000;
    let cutAt = Infinity;
    let restoredAt = Infinity;
    // The controller's view, polled all through: paths seen down that should not be.
    const seenDown = new Map<string, number>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const now = Date.now();
        try {
          for (const p of await lab.paths('?network=store/san&state=down')) {
            const expected = isCut(p) && now >= cutAt && now <= restoredAt;
            if (!expected) seenDown.set(`${p.host}→${p.peer}/${p.plane}`, (seenDown.get(`${p.host}→${p.peer}/${p.plane}`) ?? 0) + 1);
          }
        } catch {
          // A slow answer under stress is no finding; the next poll looks again.
        }
        await sleep(POLL_MS);
      }
    })();

    let detectedMs = NaN;
    let restoreMs = NaN;
    /** A wait that timed out (the figures are still gathered and reported). */
    const failures: string[] = [];
    try {
      await sleep(CUT_AFTER_MS);
      cutAt = Date.now();
      await lab.f.lab.cutPlane('a');
      try {
        await lab.waitForPaths(
          `the ${cutCount} cut paths down`,
          async () => (await lab.paths('?network=store/san&plane=a&state=down')).filter(isCut).length === cutCount,
          CUT_DETECT_TIMEOUT_MS,
          cutAt,
        );
        detectedMs = Math.max(...(await lab.paths('?network=store/san&plane=a')).filter(isCut).map((p: PathItem) => Date.parse(p.since) - cutAt));
      } catch (err) {
        failures.push((err as Error).message);
      }
      const restoreAt = Date.now();
      await lab.f.lab.restorePlane('a');
      try {
        await lab.waitForPaths(`${lab.pathCount} paths up after the restore`, async () => (await lab.paths('?network=store/san&state=up')).length === lab.pathCount, RESTORE_TIMEOUT_MS, restoreAt);
        restoreMs = Date.now() - restoreAt;
      } catch (err) {
        failures.push((err as Error).message);
      }
      restoredAt = Date.now();
      await sleep(Math.max(0, end - Date.now()));
    } finally {
      polling = false;
      await poller;
      await stress.stop();
    }

    // The agents' view: every DOWN they decided from the start of the stress.
    const downs = lab.transitions(t0).filter((x) => x.to === 'down');
    const expectedDowns = new Set<string>();
    const falseDowns = downs.filter((x) => {
      const key = `${x.host}→${x.peer}/${x.plane}`;
      // One DOWN per cut path between the cut and the restore; any other is false.
      if (isCut(x) && x.at >= cutAt && x.at <= restoredAt && !expectedDowns.has(key)) {
        expectedDowns.add(key);
        return false;
      }
      return true;
    });
    const summary = `backends: ${backendLine}; ${STRESS_SECONDS} s of stress; cut detected (the later end) ${detectedMs} ms after the cut, all paths up ${restoreMs} ms after the restore; false downs: ${falseDowns.length} in the agents' logs (${new Set(falseDowns.map((x) => `${x.host}→${x.peer}/${x.plane}`)).size} paths), ${seenDown.size} paths seen down in /v1/paths when they should not be`;
    t.diagnostic(summary);
    console.log(`path stress: ${summary}`);
    assert.deepEqual(failures, [], 'the cut is detected and the restore seen');
    assert.equal(expectedDowns.size, cutCount, `every cut path went down once: ${[...expectedDowns].join(', ')}`);
    assert.deepEqual(
      falseDowns.map((x) => `${x.host}→${x.peer}/${x.plane}`),
      [],
      `no false downs; the agents' transitions during the stress:\n${describeTransitions(lab.transitions(t0), t0)}`,
    );
    assert.deepEqual([...seenDown.keys()], [], 'the controller never showed a working path down');
    await waitFor('every path up at the end', async () => (await lab.paths('?network=store/san&state=up')).length === lab.pathCount, { timeoutMs: 10_000 });
  });
});
