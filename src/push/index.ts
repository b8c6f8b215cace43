// Public surface of program distribution: the agent gRPC server, the distributor, the book.
export { startAgentServer, type AgentServer, type AgentServerOptions } from './agent-server.js';
export { ProgramDistributor, type AgentSink, type DistributorEvents } from './distributor.js';
export { ProgramBook, type BookDelta, type SegmentChanges } from './program-book.js';
export { wireDelta } from './wire-delta.js';
export { hostAddressStatus } from './host-status.js';
export { admitHost } from './join.js';
export { ProgrammedPublisher, type ProgrammedPublisherOptions, type PublishedBook } from './programmed-publisher.js';
