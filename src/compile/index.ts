// Public surface of the compiler: pure functions from intent to what hosts must do.
export { deriveNetworkMtu, spannedUnderlays, ENCAP_OVERHEAD, DEFAULT_UNDERLAY_MTU, type NetworkMtu } from './network-mtu.js';
export { compileHost, compileAll } from './host-segments.js';
export { compileProblems, networkProblems } from './problems.js';
export type { Problem } from './problem.js';
export { IncrementalCompiler, type NetworkFacts } from './incremental.js';
export { placementOf, placementChanged, settleMigration, moveAfterWrite, nextMovePhase, activeMove, type Placement, type EndpointMove, type MovePhase, type MoveFacts } from './endpoint-move.js';
export { applyHostDelta, type HostDelta, type SegmentPatchOf } from './delta.js';
export { segmentPatch } from './segment-patch.js';
export type { CompileEvent } from './graph.js';
export { hostPlaneAddresses, vtepAddress, planePreference, type PlaneAddress } from './vtep.js';
export { chooseEncap, supportsGeneve, type Encap } from './encap.js';
export { bridgeName, deviceName, hostInterfaceName, segmentId, networkSegmentIds, attachmentId, VXLAN_PORT, GENEVE_PORT, IFNAME_MAX } from './names.js';
