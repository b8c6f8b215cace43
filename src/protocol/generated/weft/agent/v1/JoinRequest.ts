// Original file: schemas/weft-agent.proto


export interface JoinRequest {
  'token'?: (string);
  /**
   * Host name the agent would like; the controller may keep a pre-declared host of that name.
   */
  'hostName'?: (string);
  /**
   * SPKI public key of the agent's own key pair, PEM. The private key never leaves the host.
   */
  'publicKeyPem'?: (string);
  'protocolVersion'?: (number);
  'agentVersion'?: (string);
  'addresses'?: (string)[];
  'capabilities'?: ({[key: string]: boolean});
}

export interface JoinRequest__Output {
  'token': (string);
  /**
   * Host name the agent would like; the controller may keep a pre-declared host of that name.
   */
  'hostName': (string);
  /**
   * SPKI public key of the agent's own key pair, PEM. The private key never leaves the host.
   */
  'publicKeyPem': (string);
  'protocolVersion': (number);
  'agentVersion': (string);
  'addresses': (string)[];
  'capabilities': ({[key: string]: boolean});
}
