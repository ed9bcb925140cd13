import type { Launchable, Schema } from '@hhb24/common';
import { buildCrmWriter, schema as crmWriter } from '@hhb24/crm-writer';
import { buildGateway, schema as gateway } from '@hhb24/gateway';
import { buildHhConnector, schema as hhConnector } from '@hhb24/hh-connector';
import { buildSettings, schema as settings } from '@hhb24/settings';
import { buildTimelineRenderer, schema as timelineRenderer } from '@hhb24/timeline-renderer';

export interface ServiceEntry {
  name: string;
  /** Its workspace folder, relative to the repository root. */
  workspace: string;
  /** What `node` runs to start it alone, relative to the repository root (and to /app in the image). */
  entry: string;
  schema: Schema;
  /** The schema variable holding its HTTP port (health, metrics and, for the gateway, the public routes). */
  portVariable: string;
  /** Builds it without connecting to anything; connections are made by `runtime.start()`. */
  build(config: never): Launchable;
}

function service(
  name: string,
  workspace: string,
  schema: Schema,
  portVariable: string,
  build: (config: never) => Launchable,
): ServiceEntry {
  return { name, workspace, entry: `${workspace}/dist/src/main.js`, schema, portVariable, build };
}

/**
 * Every service the mesh is made of: the README's configuration table, the deployment checks and
 * the operator commands read this list, so a new service or variable shows up everywhere at once.
 */
export const catalogue: ServiceEntry[] = [
  service('gateway', 'gateway', gateway, 'GATEWAY_PORT', buildGateway),
  service('hh-connector', 'services/hh-connector', hhConnector, 'HH_CONNECTOR_PORT', buildHhConnector),
  service('crm-writer', 'services/crm-writer', crmWriter, 'CRM_WRITER_PORT', buildCrmWriter),
  service(
    'timeline-renderer',
    'services/timeline-renderer',
    timelineRenderer,
    'TIMELINE_RENDERER_PORT',
    buildTimelineRenderer,
  ),
  service('settings', 'services/settings', settings, 'SETTINGS_PORT', buildSettings),
];
