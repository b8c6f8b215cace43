// The logger the etcd pieces write to: a pino-compatible subset, silent by default.

export interface EtcdLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLog: EtcdLog = { info() {}, warn() {}, error() {} };
