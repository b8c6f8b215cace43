// Public surface of the controller process.
export { Controller, WEFT_VERSION, type ControllerOptions } from './controller.js';
