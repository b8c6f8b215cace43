// Original file: schemas/weft-agent.proto


/**
 * A renewed client certificate. The agent stores it and presents it from its next connection.
 */
export interface Certificate {
  'certificatePem'?: (string);
}

/**
 * A renewed client certificate. The agent stores it and presents it from its next connection.
 */
export interface Certificate__Output {
  'certificatePem': (string);
}
