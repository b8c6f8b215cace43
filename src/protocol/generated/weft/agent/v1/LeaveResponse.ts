// Original file: schemas/weft-agent.proto


export interface LeaveResponse {
  'hostName'?: (string);
  /**
   * True when the Host was deleted; false when it was kept, marked left.
   */
  'deleted'?: (boolean);
}

export interface LeaveResponse__Output {
  'hostName': (string);
  /**
   * True when the Host was deleted; false when it was kept, marked left.
   */
  'deleted': (boolean);
}
