import { type ConfigOf, type Launchable, type Logger } from '@hhb24/common';
import { buildCrmWriter, schema as crmWriterSchema } from '@hhb24/crm-writer';
import { buildGateway, schema as gatewaySchema } from '@hhb24/gateway';
import { buildHhConnector, schema as hhConnectorSchema } from '@hhb24/hh-connector';
import { buildSettings, schema as settingsSchema } from '@hhb24/settings';
import { buildTimelineRenderer, schema as timelineRendererSchema } from '@hhb24/timeline-renderer';

/** Every variable any service reads: the mesh passes one environment to all of them. */
export const schema = {
  ...gatewaySchema,
  ...hhConnectorSchema,
  ...crmWriterSchema,
  ...timelineRendererSchema,
  ...settingsSchema,
};

export type MeshConfig = ConfigOf<typeof schema>;

/** The services, each with its own connections and port, in the order they start. */
export function buildMesh(config: MeshConfig, options: { log?: Logger } = {}): Launchable[] {
  return [
    buildHhConnector(config, options),
    buildCrmWriter(config, options),
    buildTimelineRenderer(config, options),
    buildSettings(config, options),
    buildGateway(config, options),
  ];
}
