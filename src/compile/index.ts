// Public surface of the compiler: pure functions from intent to what hosts must do.
export { deriveNetworkMtu, spannedUnderlays, ENCAP_OVERHEAD, DEFAULT_UNDERLAY_MTU, type NetworkMtu } from './network-mtu.js';
