import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per service (several services can share a process), with the metrics the shared
 * runtime exports. Labels never include a portal or an id: cardinality stays bounded.
 */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'hhb24_' });
  const opts = { registers: [registry] };
  return {
    registry,
    messages: new Counter({
      name: 'hhb24_messages_total',
      help: 'Messages handled by JetStream consumers, by consumer and outcome (ack, retry, defer, drop, dead_letter, erased: about a portal whose data was erased, skipped)',
      labelNames: ['consumer', 'outcome'] as const,
      ...opts,
    }),
    handleSeconds: new Histogram({
      name: 'hhb24_message_handle_seconds',
      help: 'Time a consumer handler took per message',
      labelNames: ['consumer'] as const,
      buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      ...opts,
    }),
    inFlight: new Gauge({
      name: 'hhb24_messages_in_flight',
      help: 'Messages being handled now',
      labelNames: ['consumer'] as const,
      ...opts,
    }),
    rateLimited: new Counter({
      name: 'hhb24_http_rate_limited_total',
      help: 'Public requests answered 429, by route group (install, pages, callbacks) and by the limit they met (address, portal)',
      labelNames: ['group', 'per'] as const,
      ...opts,
    }),
    portalsErased: new Counter({
      name: 'hhb24_portal_erasures_total',
      help: 'Erasures of a removed portal’s data by this service (a clean uninstall, or the retention passed)',
      ...opts,
    }),
    outboxPublished: new Counter({
      name: 'hhb24_outbox_published_total',
      help: 'Outbox rows published to JetStream',
      ...opts,
    }),
    outboxFailures: new Counter({
      name: 'hhb24_outbox_publish_failures_total',
      help: 'Outbox publish attempts that failed',
      ...opts,
    }),
    outboxLagSeconds: new Gauge({
      name: 'hhb24_outbox_oldest_age_seconds',
      help: 'Age of the oldest row the relay published in its last pass',
      ...opts,
    }),
    breakerEvents: new Counter({
      name: 'hhb24_breaker_events_total',
      help: 'Circuit breaker events by downstream (open, halfOpen, close, reject, failure, timeout)',
      labelNames: ['downstream', 'event'] as const,
      ...opts,
    }),
    breakersOpen: new Gauge({
      name: 'hhb24_breakers_open',
      help: 'Breakers open now, by downstream',
      labelNames: ['downstream'] as const,
      ...opts,
    }),
    hhRequests: new Counter({
      name: 'hhb24_hh_requests_total',
      help: 'hh.ru answers, by the egress address the call left from (HH_EGRESS_ADDRESSES; default without it) and outcome (2xx, 3xx, 4xx, 429, 5xx, unreachable)',
      labelNames: ['egress', 'outcome'] as const,
      ...opts,
    }),
    rateLimitWaits: new Counter({
      name: 'hhb24_rate_limit_waits_total',
      help: 'Times a caller had to wait for a shared rate limit, by limit name',
      labelNames: ['limit'] as const,
      ...opts,
    }),
    // The sync's health (the «Состояние» tab per portal; these across portals). Labels are
    // bounded enums: no portal label, since a label per portal grows with every install and the
    // page already answers per portal.
    syncOutcomes: new Counter({
      name: 'hhb24_sync_outcomes_total',
      help: 'What became of each unit of sync work, by stage (webhook, reconcile, write) and outcome (processed, ignored, duplicate, older, found, changed, created, updated, refused)',
      labelNames: ['stage', 'outcome'] as const,
      ...opts,
    }),
    syncLagSeconds: new Histogram({
      name: 'hhb24_sync_lag_seconds',
      help: 'From a webhook reaching the gateway to hh-connector having processed it',
      labelNames: ['stage'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
      ...opts,
    }),
    lastSuccess: new Gauge({
      name: 'hhb24_last_success_timestamp_seconds',
      help: 'Unix time of the last success of this process, by stage (webhook, reconcile, write); the age is time() minus it',
      labelNames: ['stage'] as const,
      ...opts,
    }),
    portalsFailing: new Gauge({
      name: 'hhb24_portals_failing',
      help: 'Portals with an open failure incident (refused writes not yet cleared)',
      ...opts,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
