/**
 * Key rotation, and the upgrade to tokens bound to their place: `node services/mesh/dist/src/reseal.js`
 * seals every stored token again with the first key of TOKEN_ENCRYPTION_KEYS, bound to its table,
 * column and owner (values sealed before that, `v1`, are opened one last time and bound); `--check`
 * only counts. Exits 0 when every sealed value is on the current key and bound (the older keys may
 * then be dropped), 1 otherwise. The tables come from the services' migration sets (`sealed`), so
 * a new token table needs no change here.
 */
import { configOrExit, createDb, createLogger, resealSealedValues, sealedColumnsOf } from '@hhb24/common';
import { buildMesh, schema } from './mesh.js';

const check = process.argv.includes('--check');
const config = configOrExit('reseal', schema, process.env);
const log = createLogger({ name: 'reseal', level: config.LOG_LEVEL });
const services = buildMesh(config, { log });
const keyring = services[0]!.runtime.keyring;
const columns = sealedColumnsOf(services.flatMap((s) => s.runtime.migrationSets()));
const db = createDb({
  url: config.DATABASE_URL,
  schema: config.DATABASE_SCHEMA,
  poolMax: 2,
  applicationName: 'reseal',
  log,
});
try {
  const reports = await resealSealedValues(db, keyring, columns, { dryRun: check });
  const behind = reports.filter(
    (r) => r.unbound > 0 || Object.keys(r.byKey).some((id) => id !== keyring.keyId),
  );
  for (const r of reports) log.info(r, check ? 'sealed values counted' : 'sealed values re-sealed');
  if (behind.length > 0) {
    log.error(
      { currentKey: keyring.keyId, columns: behind.map((r) => `${r.table}.${r.column}`) },
      'some values are not sealed with the current key, or not bound to their place: keep the older keys',
    );
    process.exitCode = 1;
  } else {
    log.info(
      { currentKey: keyring.keyId, columns: reports.length },
      'every sealed value uses the current key and is bound to its place: older keys may be dropped',
    );
  }
} catch (err) {
  log.fatal({ err }, 'reseal failed');
  process.exitCode = 1;
} finally {
  await db.destroy();
}
