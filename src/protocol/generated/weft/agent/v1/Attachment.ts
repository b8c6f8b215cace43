// Original file: schemas/weft-agent.proto


// Original file: schemas/weft-agent.proto

export const _weft_agent_v1_Attachment_Kind = {
  KIND_UNSPECIFIED: 'KIND_UNSPECIFIED',
  KIND_WORKLOAD: 'KIND_WORKLOAD',
  KIND_HOST: 'KIND_HOST',
} as const;

export type _weft_agent_v1_Attachment_Kind =
  | 'KIND_UNSPECIFIED'
  | 0
  | 'KIND_WORKLOAD'
  | 1
  | 'KIND_HOST'
  | 2

export type _weft_agent_v1_Attachment_Kind__Output = typeof _weft_agent_v1_Attachment_Kind[keyof typeof _weft_agent_v1_Attachment_Kind]

export interface Attachment {
  /**
   * "tenant/network/endpoint".
   */
  'id'?: (string);
  'kind'?: (_weft_agent_v1_Attachment_Kind);
  'mac'?: (string);
  /**
   * Addresses with prefix length, e.g. "100.64.0.5/24".
   */
  'addresses'?: (string)[];
  'gateways'?: (string)[];
  /**
   * Workload attachments: the network namespace (a name under /run/netns) and the interface
   * name inside it; the host side of the veth is `host_interface`.
   */
  'netns'?: (string);
  'interface'?: (string);
  'hostInterface'?: (string);
}

export interface Attachment__Output {
  /**
   * "tenant/network/endpoint".
   */
  'id': (string);
  'kind': (_weft_agent_v1_Attachment_Kind__Output);
  'mac': (string);
  /**
   * Addresses with prefix length, e.g. "100.64.0.5/24".
   */
  'addresses': (string)[];
  'gateways': (string)[];
  /**
   * Workload attachments: the network namespace (a name under /run/netns) and the interface
   * name inside it; the host side of the veth is `host_interface`.
   */
  'netns': (string);
  'interface': (string);
  'hostInterface': (string);
}
