// Original file: schemas/weft-agent.proto

export const Encap = {
  ENCAP_UNSPECIFIED: 'ENCAP_UNSPECIFIED',
  ENCAP_VXLAN: 'ENCAP_VXLAN',
  ENCAP_GENEVE: 'ENCAP_GENEVE',
} as const;

export type Encap =
  | 'ENCAP_UNSPECIFIED'
  | 0
  | 'ENCAP_VXLAN'
  | 1
  | 'ENCAP_GENEVE'
  | 2

export type Encap__Output = typeof Encap[keyof typeof Encap]
