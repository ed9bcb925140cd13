import { configOrExit, launch } from '@hhb24/common';
import { buildTimelineRenderer } from './app.js';
import { schema } from './config.js';

const config = configOrExit('timeline-renderer', schema, process.env);
await launch([buildTimelineRenderer(config)], {
  host: config.HTTP_HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
});
