// A real gRPC server over mutual TLS on a unix socket, with its own fresh CA, for agent tests
// that need a controller to behave in a way ours does not (an older build, a replica that never
// welcomes); and client identities that CA signed.
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Identity } from '../../../agents/identity.js';
import { loadPki, type Pki } from '../../../src/pki/index.js';
import { SERVER_CHANNEL_OPTIONS } from '../../../src/protocol/index.js';

export interface TlsAgentServer {
  /** `unix:<dir>/agents.sock` */
  socket: string;
  pki: Pki;
  /** An identity for `host` that this server accepts, naming it as the only controller. */
  identity(host: string): Promise<Identity>;
  stop(): void;
}

export async function startTlsAgentServer(dir: string, service: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation): Promise<TlsAgentServer> {
  const pki = await loadPki(join(dir, 'pki'));
  const socket = `unix:${join(dir, 'agents.sock')}`;
  const server = new grpc.Server(SERVER_CHANNEL_OPTIONS);
  server.addService(service, handlers);
  const creds = grpc.ServerCredentials.createSsl(Buffer.from(pki.caPem), [{ cert_chain: Buffer.from(pki.serverChainPem), private_key: Buffer.from(pki.serverKeyPem) }], true);
  await new Promise<void>((res, rej) => server.bindAsync(socket, creds, (err) => (err ? rej(err) : res())));
  return {
    socket,
    pki,
    async identity(host) {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const certPem = await pki.signClientCertificate(host, publicKey.export({ type: 'spki', format: 'pem' }).toString(), `uid-${host}`);
      return { host, site: 'dc1', controllers: [socket], keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), certPem, caPem: pki.caPem };
    },
    stop: () => server.forceShutdown(),
  };
}
