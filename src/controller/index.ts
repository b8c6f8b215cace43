// Public surface of the controller process.
export { Controller, WEFT_VERSION, type ControllerOptions } from './controller.js';
export { EtcdProcess, EtcdSupervisor, ETCD_MISSING_MESSAGE, findEtcdBinary, freePort } from './etcd-process.js';
