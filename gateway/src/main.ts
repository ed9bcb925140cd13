import { configOrExit, launch } from '@hhb24/common';
import { buildGateway } from './app.js';
import { schema } from './config.js';

const config = configOrExit('gateway', schema, process.env);
await launch([buildGateway(config)], {
  host: config.HTTP_HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
});
