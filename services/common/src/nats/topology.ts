import type { JetStreamManager } from '@nats-io/jetstream';
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';

/**
 * The mesh's wiring: the streams and the subjects on them. Each service declares its durable pull
 * consumers next to their handlers; the setup job collects them from every service.
 * Subjects read `domain.entity.verb`; stream names are capitals.
 */
export const subjects = {
  /** gateway → hh-connector: an hh.ru webhook, stored before it was acknowledged. */
  hhWebhookReceived: 'hh.webhook.received',
  /** settings/gateway → hh-connector: start or resume the initial import, or a reconciliation pass. */
  hhImportRequested: 'hh.import.requested',
  /** hh-connector → itself: one step of an import or reconciliation run (a vacancy, a negotiation). */
  hhImportVacancy: 'hh.import.vacancy',
  hhImportNegotiation: 'hh.import.negotiation',
  /** hh-connector → crm-writer: a negotiation was stored or changed; write it to the portal. */
  hhNegotiationSynced: 'hh.negotiation.synced',
  /** hh-connector → settings: the hh.ru connection changed state (connected, login needed, …). */
  hhAccountChanged: 'hh.account.changed',
  /** crm-writer → timeline-renderer, hh-connector: a lead or deal was created or updated. */
  crmEntityWritten: 'crm.entity.written',
  /** crm-writer → settings: the portal refused a write; shown with what to fix. */
  crmEntityFailed: 'crm.entity.failed',
  /** gateway → everyone: the app was removed from the portal (confirmed with Bitrix24). */
  portalUninstalled: 'portal.app.uninstalled',
  /** gateway → itself: an uninstall the portal could not confirm at once; asked again until it can. */
  portalUninstallClaimed: 'portal.uninstall.claimed',
  /** gateway → itself: the app was updated on a portal (ONAPPUPDATE) or a replica started: bring the portal's registrations up to date. */
  portalAppUpdate: 'portal.app.update',
  /** settings → crm-writer, hh-connector: the portal's settings changed. */
  portalSettingsSaved: 'portal.settings.saved',
  /** gateway → services: a robot was run, a timeline button clicked, a CRM entity changed. */
  portalRobotInvoked: 'portal.robot.invoked',
  portalEventReceived: 'portal.event.received',
} as const;

export type SubjectName = keyof typeof subjects;

export interface StreamSpec {
  name: string;
  subjects: string[];
  description: string;
}

export interface ConsumerSpec {
  stream: string;
  durable: string;
  /** One subject or wildcard (NATS 2.9 takes a single filter per consumer). */
  filterSubject: string;
  /** How long a delivered, unacknowledged message waits before redelivery. */
  ackWaitMs: number;
  /** In flight at once across all replicas: bounds concurrency against the rate limits. */
  maxAckPending: number;
}

export const streams: StreamSpec[] = [
  {
    name: 'HH',
    subjects: ['hh.>'],
    description: 'hh.ru side: webhooks, import requests, synced negotiations, account state',
  },
  { name: 'CRM', subjects: ['crm.>'], description: 'Bitrix24 CRM side: entities written or refused' },
  { name: 'PORTAL', subjects: ['portal.>'], description: 'Portal life cycle, settings, robots and events' },
];

/** Keeps messages for a week: a consumer that is down for days still finds its work. */
const STREAM_MAX_AGE_NS = 7 * 24 * 3600 * 1e9;
/** Republishing the same Nats-Msg-Id inside this window is dropped by the server. */
export const DUPLICATE_WINDOW_NS = 10 * 60 * 1e9;

/** Subject and stream names under an installation prefix (tests use one prefix each). */
export class Naming {
  constructor(readonly prefix: string) {}
  subject(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }
  stream(name: string): string {
    return this.prefix ? `${this.prefix.toUpperCase()}_${name}` : name;
  }
  /** The un-prefixed subject, for handlers that route on it. */
  strip(subject: string): string {
    return this.prefix && subject.startsWith(`${this.prefix}.`)
      ? subject.slice(this.prefix.length + 1)
      : subject;
  }
}

export async function ensureStreams(
  jsm: JetStreamManager,
  naming: Naming,
  specs: StreamSpec[] = streams,
): Promise<void> {
  for (const spec of specs) {
    const config = {
      name: naming.stream(spec.name),
      subjects: spec.subjects.map((s) => naming.subject(s)),
      description: spec.description,
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: STREAM_MAX_AGE_NS,
      duplicate_window: DUPLICATE_WINDOW_NS,
    };
    try {
      await jsm.streams.info(config.name);
      await jsm.streams.update(config.name, config);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.streams.add(config).catch(async (addErr: unknown) => {
        // Another replica created it between our info and add.
        if (!/already in use|exists/i.test(String(addErr))) throw addErr;
      });
    }
  }
}

export async function ensureConsumers(
  jsm: JetStreamManager,
  naming: Naming,
  specs: ConsumerSpec[],
  serverMaxDeliver: number,
): Promise<void> {
  for (const spec of specs) {
    const stream = naming.stream(spec.stream);
    const config = {
      durable_name: spec.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: naming.subject(spec.filterSubject),
      ack_wait: spec.ackWaitMs * 1e6,
      max_deliver: serverMaxDeliver,
      max_ack_pending: spec.maxAckPending,
    };
    try {
      await jsm.consumers.info(stream, spec.durable);
      const { durable_name: _name, deliver_policy: _policy, ack_policy: _ack, ...mutable } = config;
      await jsm.consumers.update(stream, spec.durable, mutable);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.consumers.add(stream, config);
    }
  }
}

function isNotFound(err: unknown): boolean {
  return /not found/i.test(String((err as Error)?.message ?? err));
}
