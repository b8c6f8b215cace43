// Original file: schemas/weft-agent.proto


/**
 * One path to probe: from this host's address on a plane to a peer's address on that plane.
 */
export interface ProbePath {
  'peer'?: (string);
  'plane'?: (string);
  'localAddress'?: (string);
  'remoteAddress'?: (string);
  /**
   * The smallest underlay MTU on the path: the size of the don't-fragment probe.
   */
  'mtu'?: (number);
}

/**
 * One path to probe: from this host's address on a plane to a peer's address on that plane.
 */
export interface ProbePath__Output {
  'peer': (string);
  'plane': (string);
  'localAddress': (string);
  'remoteAddress': (string);
  /**
   * The smallest underlay MTU on the path: the size of the don't-fragment probe.
   */
  'mtu': (number);
}
