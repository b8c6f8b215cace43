// Original file: schemas/weft-agent.proto


export interface LeaveRequest {
  /**
   * Keep the Host (and its endpoints), marked left, instead of deleting it.
   */
  'keepHost'?: (boolean);
}

export interface LeaveRequest__Output {
  /**
   * Keep the Host (and its endpoints), marked left, instead of deleting it.
   */
  'keepHost': (boolean);
}
