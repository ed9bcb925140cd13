import { type Launchable, type Logger, createService } from '@hhb24/common';
import type { Config } from './config.js';
import { migrations } from './migrations.js';

export { schema, type Config } from './config.js';

/** Builds timeline-renderer: owns timeline activities and their buttons («Другие отклики», «Резюме»). */
export function buildTimelineRenderer(config: Config, options: { log?: Logger } = {}): Launchable {
  const { app, runtime } = createService({ name: 'timeline-renderer', config, migrations, log: options.log });
  return { app, runtime, port: config.TIMELINE_RENDERER_PORT };
}
