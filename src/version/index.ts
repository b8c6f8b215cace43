// The release this tree is. Its own module so `weft version` and `weft --help` print it without
// loading the controller (about a second of start-up for one string).
export const WEFT_VERSION = '0.1.0';
