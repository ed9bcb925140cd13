import { type Launchable, type Logger, createService } from '@hhb24/common';
import type { Config } from './config.js';
import { migrations } from './migrations.js';

export { schema, type Config } from './config.js';

/** Builds hh-connector: owns hh.ru: tokens, client, initial import, webhooks, reconciliation, resumes and PDFs. */
export function buildHhConnector(config: Config, options: { log?: Logger } = {}): Launchable {
  const { app, runtime } = createService({ name: 'hh-connector', config, migrations, log: options.log });
  runtime.useOutboxRelay();
  return { app, runtime, port: config.HH_CONNECTOR_PORT };
}
