// What a benchmark records besides what it prints: bench-results/<name>.json at the repo root
// (git-ignored), so runs on different days or machines can be compared without scraping logs.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Named figures, units in the key (`p50Ms`, `writesPerSecond`, `rssKiB`), nested by what they
 * describe. A figure that could not be measured is NaN; JSON has no NaN, so it is written as null.
 */
export interface Figures {
  readonly [key: string]: number | Figures;
}

/** Named ratios, always Weft / baseline (for times, below 1 is better), one short key per comparison. */
export interface Ratios {
  readonly [key: string]: number;
}

export interface BenchResult {
  /** The bench's file name without `.bench.ts`. */
  name: string;
  figures: Figures;
  /** The baseline measured in the same run, keyed like `figures` where the two compare. */
  baseline: Figures;
  ratio: Ratios;
}

export interface Machine {
  cpuModel: string;
  cpuCount: number;
  totalMemoryBytes: number;
  node: string;
  platform: string;
  kernelRelease: string;
  /** Other work on the machine skews every figure: how busy it was when the result was written. */
  loadAverage: { oneMinute: number; fiveMinutes: number; fifteenMinutes: number };
  /** ISO 8601, UTC. */
  date: string;
}

export interface BenchRecord extends BenchResult {
  machine: Machine;
}

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const RESULTS_DIR = join(ROOT, 'bench-results');

export function machineNow(): Machine {
  const cpus = os.cpus();
  const [oneMinute, fiveMinutes, fifteenMinutes] = os.loadavg() as [number, number, number];
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    totalMemoryBytes: os.totalmem(),
    node: process.version,
    platform: os.platform(),
    kernelRelease: os.release(),
    loadAverage: { oneMinute, fiveMinutes, fifteenMinutes },
    date: new Date().toISOString(),
  };
}

/** Writes bench-results/<name>.json (replacing the last run's), prints its path and returns it. */
export function writeBenchResult(result: BenchResult): string {
  // The name becomes a file name: keep it to what bench file names are made of.
  if (!/^[a-z0-9][a-z0-9-]*$/.test(result.name)) throw new Error(`bench result name ${JSON.stringify(result.name)} must be lower-case letters, digits and dashes`);
  const record: BenchRecord = { name: result.name, machine: machineNow(), figures: result.figures, baseline: result.baseline, ratio: result.ratio };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${result.name}.json`);
  // Six significant digits: the noise floor of any timing here is far above that.
  const tidy = (_key: string, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) && Number.isFinite(v) ? Number(v.toPrecision(6)) : v);
  writeFileSync(file, `${JSON.stringify(record, tidy, 2)}\n`);
  console.log(`results written to ${file}`);
  return file;
}

/** A /proc status size as printed ("123456 kB") in KiB; NaN for 'n/a'. */
export function kibOf(status: string): number {
  const m = /^(\d+)\s*kB$/.exec(status.trim());
  return m ? Number(m[1]) : NaN;
}
