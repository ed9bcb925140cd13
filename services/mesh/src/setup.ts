/** The setup job: migrations, streams and consumers of every service, then exit. */
import { configOrExit, setupInfrastructure } from '@hhb24/common';
import { buildMesh, schema } from './mesh.js';

const config = configOrExit('setup', schema, process.env);
const services = buildMesh(config);
const log = services[0]!.runtime.log;
try {
  const result = await setupInfrastructure(
    config,
    services.map((s) => s.runtime),
  );
  log.info(result, 'setup done');
  process.exit(0);
} catch (err) {
  log.fatal({ err }, 'setup failed');
  process.exit(1);
}
