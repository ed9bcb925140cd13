import { type Launchable, type Logger, createService } from '@hhb24/common';
import type { Config } from './config.js';
import { migrations } from './migrations.js';

export { schema, type Config } from './config.js';

/** Builds crm-writer: owns Bitrix24 CRM writes: idempotent lead/deal upsert, fields, stages, files. */
export function buildCrmWriter(config: Config, options: { log?: Logger } = {}): Launchable {
  const { app, runtime } = createService({ name: 'crm-writer', config, migrations, log: options.log });
  runtime.useOutboxRelay();
  return { app, runtime, port: config.CRM_WRITER_PORT };
}
