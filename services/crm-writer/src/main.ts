import { configOrExit, launch } from '@hhb24/common';
import { buildCrmWriter } from './app.js';
import { schema } from './config.js';

const config = configOrExit('crm-writer', schema, process.env);
await launch([buildCrmWriter(config)], {
  host: config.HTTP_HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
});
