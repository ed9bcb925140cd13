import { configOrExit, launch } from '@hhb24/common';
import { buildHhConnector } from './app.js';
import { schema } from './config.js';

const config = configOrExit('hh-connector', schema, process.env);
await launch([buildHhConnector(config)], {
  host: config.HTTP_HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
});
