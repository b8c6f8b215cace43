// Original file: schemas/weft-agent.proto


export interface RenewRequest {
  /**
   * SPKI public key, PEM: the host's current key, or a new one to rotate to (the host is then
   * bound to the new key and certificates for the old one stop working).
   */
  'publicKeyPem'?: (string);
}

export interface RenewRequest__Output {
  /**
   * SPKI public key, PEM: the host's current key, or a new one to rotate to (the host is then
   * bound to the new key and certificates for the old one stop working).
   */
  'publicKeyPem': (string);
}
