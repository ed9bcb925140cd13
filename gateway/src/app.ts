import { type Launchable, type Logger, createService } from '@hhb24/common';
import type { Config } from './config.js';
import { registerHhWebhook } from './hh-webhook.js';
import { migrations } from './migrations.js';

export { schema, type Config } from './config.js';

/** Builds gateway: the only HTTP ingress: Bitrix24 install, pages, placements, robots and events; hh.ru OAuth callback and webhooks. */
export function buildGateway(config: Config, options: { log?: Logger } = {}): Launchable {
  const { app, runtime } = createService({ name: 'gateway', config, migrations, log: options.log });
  runtime.useOutboxRelay();
  registerHhWebhook(app, runtime, config);
  return { app, runtime, port: config.GATEWAY_PORT };
}
