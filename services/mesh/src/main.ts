import type { AddressInfo } from 'node:net';
import { configOrExit, launch, setupInfrastructure } from '@hhb24/common';
import { buildMesh, schema } from './mesh.js';

const config = configOrExit('mesh', schema, process.env);
// Migrations and streams once for all services, instead of each taking the migration lock in turn.
const services = buildMesh({ ...config, MIGRATE_ON_START: false });
if (config.MIGRATE_ON_START)
  await setupInfrastructure(
    config,
    services.map((s) => s.runtime),
  );
await launch(services, { host: config.HTTP_HOST, shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS });

process.stdout.write(
  `\nhh-b24 mesh is up (Ctrl-C stops it):\n${services
    .map(
      (s) =>
        `  ${s.runtime.name.padEnd(18)} http://127.0.0.1:${(s.app.server.address() as AddressInfo).port}/readyz   /livez   /metrics`,
    )
    .join('\n')}\n\n`,
);
