// Original file: schemas/weft-agent.proto


export interface Welcome {
  'protocolVersion'?: (number);
  'controllerVersion'?: (string);
  'hostName'?: (string);
}

export interface Welcome__Output {
  'protocolVersion': (number);
  'controllerVersion': (string);
  'hostName': (string);
}
