// Original file: schemas/weft-agent.proto


export interface UnderlayRoute {
  /**
   * Destination prefix, e.g. "198.18.17.0/24".
   */
  'to'?: (string);
  'via'?: (string);
  'plane'?: (string);
}

export interface UnderlayRoute__Output {
  /**
   * Destination prefix, e.g. "198.18.17.0/24".
   */
  'to': (string);
  'via': (string);
  'plane': (string);
}
