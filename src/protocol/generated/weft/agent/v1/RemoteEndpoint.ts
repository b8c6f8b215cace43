// Original file: schemas/weft-agent.proto


export interface RemoteEndpoint {
  'mac'?: (string);
  'ips'?: (string)[];
  'vtep'?: (string);
  'host'?: (string);
}

export interface RemoteEndpoint__Output {
  'mac': (string);
  'ips': (string)[];
  'vtep': (string);
  'host': (string);
}
