import { configOrExit, launch } from '@hhb24/common';
import { buildSettings } from './app.js';
import { schema } from './config.js';

const config = configOrExit('settings', schema, process.env);
await launch([buildSettings(config)], {
  host: config.HTTP_HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
});
