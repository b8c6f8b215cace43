// Original file: schemas/weft-agent.proto


export interface ObjectError {
  /**
   * The segment the object belongs to ("tenant/network" or "tenant/network/plane").
   */
  'segment'?: (string);
  /**
   * What was refused, e.g. "vxlan wx4096", "fdb 02:00:00:00:00:01", "attachment red/web/a".
   */
  'object'?: (string);
  'message'?: (string);
}

export interface ObjectError__Output {
  /**
   * The segment the object belongs to ("tenant/network" or "tenant/network/plane").
   */
  'segment': (string);
  /**
   * What was refused, e.g. "vxlan wx4096", "fdb 02:00:00:00:00:01", "attachment red/web/a".
   */
  'object': (string);
  'message': (string);
}
