// The Node.js flags Weft's processes run with: bin/weft.js's first line passes them to node, and
// the test and benchmark harnesses start controllers with them (a unit test holds the two
// together). The README says why and how to pass them when starting node by hand.
//
// A controller change allocates in bursts (a delta and a message per agent, thousands of acks),
// and with V8's default 16 MB semi-space much of a burst is still alive at the next scavenge,
// so it is copied and promoted, and the old generation then needs marking and compacting on a
// machine whose cores the fan-out already uses. 64 MB lets a burst die young. It is a ceiling:
// a process that allocates little (a CLI command, an agent) never grows its young generation.
export const NODE_FLAGS = ['--max-semi-space-size=64'] as const;
