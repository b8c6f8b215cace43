// Original file: schemas/weft-agent.proto


export interface PlaneVtep {
  'plane'?: (string);
  'address'?: (string);
}

export interface PlaneVtep__Output {
  'plane': (string);
  'address': (string);
}
