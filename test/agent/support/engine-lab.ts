// For lab tests of the probe engine: builds it (again if its source changed), checks that it
// can run here, and makes a two-site lab (h1 in dc1, h2 in dc2) on the given planes. When the
// engine cannot run, there is no lab and `unavailable` says why (the tests skip saying so).
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { probeEngineAvailable } from '../../../agents/paths/engine/index.js';
import { createLab, type Lab } from '../../lab/lab.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

export type EngineLab = { lab: Lab; unavailable: '' } | { lab: undefined; unavailable: string };

export async function startEngineLab(planes: string[]): Promise<EngineLab> {
  execFileSync('bash', ['bin/build-probe.sh'], { cwd: ROOT });
  const a = await probeEngineAvailable();
  if (!a.ok) return { lab: undefined, unavailable: a.reason };
  const lab = await createLab({ sites: ['dc1', 'dc2'], planes, hosts: [{ name: 'h1', site: 'dc1' }, { name: 'h2', site: 'dc2' }] });
  return { lab, unavailable: '' };
}
