// Public surface of the agent's local path view: the file the agent writes, its reader, and
// the exporters that hand path health to NVMe-oF ANA and dm-multipath.
export { PATHS_VIEW_FILE, PATHS_VIEW_VERSION, DEFAULT_STALE_AFTER_MS, MAX_VIEW_BYTES, PathsViewSchema, assessView, buildView, type AssessedView, type PathsView, type PathState, type PathViewSource, type ViewPath } from './view.js';
export { PathsViewWriter, type FollowedProber, type PathsViewWriterOptions } from './writer.js';
export { PathsViewError, parsePathsView, readPathsView, type PathsViewProblem } from './read.js';
export { DEFAULT_CONFIGFS_ROOT, MAX_ANA_GROUP, anaPlan, applyAna, parseAnaMap, parsePorts, type AnaApplied, type AnaDecision, type AnaState } from './ana.js';
export { commandLine, multipathActions, parseDeviceMap, runMultipathd, type DeviceMapping, type MultipathAction } from './multipath.js';
export { PATHS_USAGE, agentPathsCommand } from './command.js';
