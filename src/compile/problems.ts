// Everything the compiler had to leave out or mark as failed, fabric-wide. Computed by the same
// pass that builds segments, so a problem is reported exactly when something is left out.
import type { IntentView, Network } from '../model/index.js';
import { Fabric } from './fabric.js';
import { compareText } from './names.js';
import { compileNetwork } from './network-segments.js';
import type { Problem } from './problem.js';

/** By network, then host (network-wide problems first), then message. */
export function compileProblems(view: IntentView): Problem[] {
  const fabric = new Fabric(view);
  const out = (view.list('Network') as Network[]).flatMap((n) => compileNetwork(view, n, fabric).problems);
  return out.sort((a, b) => compareText(a.network, b.network) || compareText(a.host ?? '', b.host ?? '') || compareText(a.message, b.message));
}

/** One network's problems, as its status reports them. */
export function networkProblems(view: IntentView, n: Network): Problem[] {
  return compileNetwork(view, n, new Fabric(view)).problems;
}
