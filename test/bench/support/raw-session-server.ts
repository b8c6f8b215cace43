// A bare Session server for fanout.bench.ts's transport floor: the agent protocol's service
// with the controller's server options and mutual TLS from a throwaway CA, and nothing behind
// it. It welcomes each stream, sends every open stream the same message and reads what comes
// back without looking at it: what one change costs to cross grpc-js and TLS both ways, before Weft does anything.
import * as grpc from '@grpc/grpc-js';
import { generateKeyPairSync } from 'node:crypto';
import { dirname, join } from 'node:path';
import { loadPki } from '../../../src/pki/index.js';
import { loadProtocol, SERVER_CHANNEL_OPTIONS, type AgentMessage, type AgentServiceHandlers, type ControllerMessage } from '../../../src/protocol/index.js';

export interface RawSessionServer {
  address: string;
  caPem: string;
  /** One client identity for every raw session (signed by the throwaway CA). */
  certPem: string;
  keyPem: string;
  /** Streams open now. */
  sessions(): number;
  /** Writes `msg` to every open stream, in the order they opened. */
  sendAll(msg: ControllerMessage): void;
  stop(): Promise<void>;
}

export async function startRawSessionServer(socketPath: string): Promise<RawSessionServer> {
  const pki = await loadPki(join(dirname(socketPath), 'raw-pki'));
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const certPem = await pki.signClientCertificate('bench-raw', publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const streams = new Set<grpc.ServerDuplexStream<AgentMessage, ControllerMessage>>();
  const handlers: Partial<AgentServiceHandlers> = {
    Session: (call) => {
      streams.add(call);
      // Tells the client its stream is open (it opens the next one then).
      call.write({ welcome: { protocolVersion: 2, controllerVersion: 'bench-raw', hostName: '' }, body: 'welcome' });
      call.on('data', () => undefined);
      call.on('error', () => streams.delete(call));
      call.on('end', () => {
        streams.delete(call);
        call.end();
      });
    },
  };
  const server = new grpc.Server(SERVER_CHANNEL_OPTIONS);
  server.addService(loadProtocol().weft.agent.v1.AgentService.service, handlers as grpc.UntypedServiceImplementation);
  const creds = grpc.ServerCredentials.createSsl(Buffer.from(pki.caPem), [{ private_key: Buffer.from(pki.serverKeyPem), cert_chain: Buffer.from(pki.serverChainPem) }], true);
  const address = `unix:${socketPath}`;
  await new Promise<void>((resolve, reject) => server.bindAsync(address, creds, (err) => (err ? reject(err) : resolve())));
  return {
    address,
    caPem: pki.caPem,
    certPem,
    keyPem,
    sessions: () => streams.size,
    sendAll: (msg) => {
      for (const s of streams) s.write(msg);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.end();
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 5000).unref();
      }),
  };
}
