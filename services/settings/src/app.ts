import { type Launchable, type Logger, ValidationError, createService, rpc } from '@hhb24/common';
import type { Config } from './config.js';
import { migrations } from './migrations.js';
import { getSettings } from './settings-store.js';

export { schema, type Config } from './config.js';
export { getSettings, parseSettings, saveSettings } from './settings-store.js';

/** Builds settings: owns portal settings and renders the app pages (Handlebars + htmx). */
export function buildSettings(config: Config, options: { log?: Logger } = {}): Launchable {
  const { app, runtime } = createService({ name: 'settings', config, migrations, log: options.log });
  runtime.useOutboxRelay();
  runtime.serve(rpc.settingsGet, (req) => getSettings(runtime.db, req.memberId), {
    decode: (v) => {
      const memberId = (v as { memberId?: unknown }).memberId;
      if (typeof memberId !== 'string' || memberId === '') throw new ValidationError('memberId is required');
      return { memberId };
    },
  });
  return { app, runtime, port: config.SETTINGS_PORT };
}
