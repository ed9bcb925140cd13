import { type Launchable, type Logger, createService } from '@hhb24/common';
import type { Config } from './config.js';
import { migrations } from './migrations.js';

export { schema, type Config } from './config.js';

/** Builds settings: owns portal settings and renders the app pages (Handlebars + htmx). */
export function buildSettings(config: Config, options: { log?: Logger } = {}): Launchable {
  const { app, runtime } = createService({ name: 'settings', config, migrations, log: options.log });
  runtime.useOutboxRelay();
  return { app, runtime, port: config.SETTINGS_PORT };
}
