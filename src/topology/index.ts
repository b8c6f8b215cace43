// Topology files: multi-document YAML in the API's own shape, planned against the fabric and
// applied over the REST API (`weft plan`, `weft apply`). The core (parse, plan, render, assess)
// is pure; the shell (files, REST, polling) is in source.ts, client.ts, fabric-state.ts,
// execute.ts, load.ts and wait.ts.
export { HASH_LABEL, LEVEL, OWNER_LABEL, TOPOLOGY_KINDS, isTopologyKind, refKey, topologyDocumentSchema, type Position, type TopologyDoc, type TopologyKind } from './document.js';
export { parseSource, parseTopology, duplicateProblems, LIMITS, type ParseLimits, type TopologySource } from './parse.js';
export { planTopology, countActions, hasChanges, compareForApply, desiredLabels, type PlannedAction, type TopologyPlan, type PlanOptions } from './plan.js';
export { fieldChanges, filledPaths, withoutPaths, diffLabels, type FieldChange } from './diff.js';
export { appliedHash, canonicalJson } from './hash.js';
export { SnapshotView } from './snapshot.js';
export { renderPlan, renderProblems, uncheckedText, planJson, problemJson, summaryText, formatChange, COLOR, PLAIN, type Style } from './render.js';
export { ApiError, ApplyError, failureText, formatProblem, formatPosition, type TopologyProblem, type WriteFailure } from './problems.js';
export { WeftClient, collectionUrl, itemUrl, type ClientOptions } from './client.js';
export { readFabric } from './fabric-state.js';
export { executePlan, phases, writeBody, type FabricWriter, type WriteAction } from './execute.js';
export { assessConvergence, describeNotConverged, waitForConvergence, type ConvergenceReport } from './wait.js';
export { readTopologySources, topologyNameFromPath, topologyNameProblem, MAX_FILE_BYTES, MAX_TOTAL_BYTES } from './source.js';
export { loadTopology, planAgainstServer, type LoadedTopology } from './load.js';
