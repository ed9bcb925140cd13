import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '../logger.js';

export interface Nats {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/**
 * Where the replies to this connection's requests arrive (RPC answers, JetStream publish acks, pulled
 * messages): a prefix of its own, so that a NATS user allowed to subscribe only `<prefix>.>` reads
 * no other service's replies (deploy/nats/users.conf).
 */
export function inboxPrefix(name: string): string {
  return `_INBOX.${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** Connects with endless reconnects (a NATS restart must not kill the service) and logs state changes. */
export async function connectNats(options: {
  servers: string;
  name: string;
  log: Logger;
  user?: string;
  password?: string;
}): Promise<Nats> {
  const nc = await connect({
    servers: options.servers
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    name: options.name,
    inboxPrefix: inboxPrefix(options.name),
    ...(options.user ? { user: options.user, pass: options.password ?? '' } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') {
        options.log.warn(
          { nats: s.type, server: 'server' in s ? s.server : undefined },
          'nats connection state changed',
        );
      }
    }
  })().catch(() => {});
  return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) };
}

export function natsUsable(nats: Nats | undefined): boolean {
  return Boolean(
    nats &&
    !nats.nc.isClosed() &&
    !nats.nc.isDraining() &&
    nats.nc.info !== undefined &&
    !isReconnecting(nats.nc),
  );
}

function isReconnecting(nc: NatsConnection): boolean {
  // The protocol handler knows whether the socket is up; the public API only exposes events.
  const proto = (nc as unknown as { protocol?: { connected?: boolean } }).protocol;
  return proto?.connected === false;
}
