// Original file: schemas/weft-agent.proto


export interface JoinResponse {
  'hostName'?: (string);
  'site'?: (string);
  'certificatePem'?: (string);
  'caPem'?: (string);
}

export interface JoinResponse__Output {
  'hostName': (string);
  'site': (string);
  'certificatePem': (string);
  'caPem': (string);
}
