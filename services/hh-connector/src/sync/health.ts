import { randomUUID } from 'node:crypto';
import {
  type HhHealthView,
  type ImportFailureView,
  NegotiationStep,
  type Runtime,
  type SyncEventView,
  compileSchema,
  enqueue,
  hhWebhookUrl,
  subjects,
} from '@hhb24/common';
import type { Config } from '../config.js';
import { type HhClient, hasPaidAccess } from '../hh/index.js';
import type { Connection } from './connection.js';
import type { SyncStore } from './store.js';

/** What the tab reads of a stored negotiation item (hh.ru's GET /negotiations/{id}). */
interface NegotiationItemNames {
  resume?: { first_name?: string | null; last_name?: string | null; middle_name?: string | null } | null;
  vacancy?: { name?: string } | null;
}

/** The consumer whose dead letters are responses that could not be loaded. */
const IMPORT_CONSUMER = 'hh-connector-imports';
/** hh.ru is asked about access, views and the subscription while the tab waits: briefly. */
const ASK_MS = 5000;
const EVENTS_PAGE = 20;
const PRUNE_EVERY_MS = 10 * 60_000;

export interface HealthDeps {
  runtime: Runtime;
  config: Config;
  hh: () => HhClient;
  store: SyncStore;
  connection: Connection;
}

/**
 * hh-connector's side of the «Состояние» tab: the connection as hh.ru sees it now (paid access,
 * views left, the subscription), what came in (the last webhook, the last reconciliation pass,
 * counts), the delivery log and the responses that could not be loaded, with «Повторить».
 */
export class Health {
  private prunedAt = 0;

  constructor(private readonly d: HealthDeps) {}

  async view(memberId: string, now = new Date()): Promise<HhHealthView> {
    const [account, current] = await Promise.all([
      this.d.connection.view(memberId),
      this.d.hh().accounts.current(memberId),
    ]);
    const active = current && current.status === 'active' && account.status === 'active' ? current : null;
    const client = active ? this.d.hh().account(active.id) : null;
    // Each question on its own: one hh.ru answer missing leaves the others on the page.
    const ask = <T>(what: string, f: () => Promise<T>): Promise<T | null> =>
      f().catch((err: unknown) => {
        this.d.runtime.log.warn({ err, memberId, what }, 'hh.ru did not answer a health question');
        return null;
      });
    const [access, limits, subscriptions] = await Promise.all([
      client ? ask('method_access', () => client.methodAccess({ maxWaitMs: ASK_MS })) : null,
      client ? ask('limits/resume', () => client.resumeLimits({ maxWaitMs: ASK_MS })) : null,
      client ? ask('webhook subscriptions', () => client.webhookSubscriptions({ maxWaitMs: ASK_MS })) : null,
    ]);
    const [lastDelivery, reconciliation, received, importFailures] = await Promise.all([
      this.d.store.lastDelivery(memberId),
      this.d.store.lastReconciliation(memberId),
      this.d.store.receivedCounts(memberId, startOfDay(now)),
      this.importFailures(memberId),
    ]);
    const expected = active
      ? hhWebhookUrl(this.d.config.PUBLIC_URL, active.id, this.d.config.WEBHOOK_SECRET_KEY)
      : null;
    const sub = subscriptions?.[0];
    return {
      account,
      paidAccess: access ? hasPaidAccess(access.items) : null,
      resumeViews: limits ? { left: limits.left.resume_view, limit: limits.limits.resume_view } : null,
      viewsParkedUntil:
        active?.viewsParkedUntil && active.viewsParkedUntil.getTime() > now.getTime()
          ? active.viewsParkedUntil.toISOString()
          : null,
      subscription: subscriptions
        ? {
            present: Boolean(sub),
            url: sub ? withoutSecret(sub.url) : null,
            matches: Boolean(sub && sub.url === expected),
          }
        : null,
      lastDelivery,
      reconciliation,
      counts: { today: { received: received.today }, total: { received: received.total } },
      importFailures,
      logRetentionDays: this.d.config.HH_EVENT_LOG_RETENTION_DAYS,
    };
  }

  async events(
    memberId: string,
    before: number | undefined,
    limit = EVENTS_PAGE,
  ): Promise<{ items: SyncEventView[]; next: number | null }> {
    const items = await this.d.store.events(memberId, before, limit + 1);
    const page = items.slice(0, limit);
    const names = await this.names(
      memberId,
      page.flatMap((e) => (e.negotiationId ? [e.negotiationId] : [])),
    );
    return {
      items: page.map((e) => ({ ...e, ...(e.negotiationId ? names.get(e.negotiationId) : undefined) })),
      next: items.length > limit ? page.at(-1)!.id : null,
    };
  }

  /**
   * The applicant and the vacancy of each negotiation stored, so that the tab lists people and
   * vacancies rather than hh.ru's ids: from the item hh.ru gave (a hidden name stays null).
   */
  private async names(
    memberId: string,
    ids: string[],
  ): Promise<Map<string, { applicantName: string | null; vacancyName: string | null }>> {
    if (ids.length === 0) return new Map();
    // The vacancy's name from its own row: an item from a collection list names the vacancy by id only.
    const rows = await this.d.runtime
      .db('hh_negotiations as n')
      .leftJoin('hh_vacancies as v', function () {
        this.on('v.member_id', 'n.member_id').andOn('v.vacancy_id', 'n.vacancy_id');
      })
      .where('n.member_id', memberId)
      .whereIn('n.negotiation_id', [...new Set(ids)])
      .select<Array<{ negotiation_id: string; item: NegotiationItemNames; vacancy_name: string | null }>>(
        'n.negotiation_id',
        'n.item',
        'v.name as vacancy_name',
      );
    return new Map(
      rows.map((r) => {
        const resume = r.item.resume;
        const name = resume
          ? [resume.last_name, resume.first_name, resume.middle_name].filter((x) => x && x.trim()).join(' ')
          : '';
        return [
          r.negotiation_id,
          { applicantName: name || null, vacancyName: r.vacancy_name ?? r.item.vacancy?.name ?? null },
        ];
      }),
    );
  }

  /** Negotiation steps that failed for good (a resume or its PDF could not be read): dead letters of the import consumer. */
  async importFailures(memberId: string): Promise<ImportFailureView[]> {
    const rows = (await this.d.runtime
      .db('dead_letters')
      .where({ consumer: IMPORT_CONSUMER, portal: memberId })
      .where('subject', 'like', `%${subjects.hhImportNegotiation}`)
      .orderBy('id', 'desc')
      .limit(200)) as Array<{
      id: string | number;
      payload: string;
      last_error: string | null;
      reason: string;
      created_at: Date;
    }>;
    if (rows.length === 0) return [];
    const steps = rows
      .map((r) => ({ row: r, step: parseStep(r.payload) }))
      .filter((x): x is { row: (typeof rows)[number]; step: NegotiationStep } => x.step !== null);
    const items = await this.d.runtime
      .db('hh_negotiations')
      .where({ member_id: memberId })
      .whereIn(
        'negotiation_id',
        steps.map((s) => s.step.negotiationId),
      )
      .select('negotiation_id', 'item');
    const links = new Map(
      items.map(
        (i: {
          negotiation_id: string;
          item: { resume?: { alternate_url?: string } | null; vacancy?: { alternate_url?: string } };
        }) => [i.negotiation_id, i.item.resume?.alternate_url ?? i.item.vacancy?.alternate_url ?? null],
      ),
    );
    const names = await this.names(
      memberId,
      steps.map((x) => x.step.negotiationId),
    );
    return steps.map(({ row, step }) => ({
      ...names.get(step.negotiationId),
      id: Number(row.id),
      negotiationId: step.negotiationId,
      reason: reasonOf(row.last_error ?? row.reason),
      failedAt: new Date(row.created_at).toISOString(),
      hhUrl: links.get(step.negotiationId) ?? null,
    }));
  }

  /** How many failed loads each portal has (for crm-writer's failure incidents). */
  async loadFailureCounts(): Promise<{ portals: Record<string, number> }> {
    const rows = await this.d.runtime
      .db('dead_letters')
      .where({ consumer: IMPORT_CONSUMER })
      .whereNotNull('portal')
      .where('subject', 'like', `%${subjects.hhImportNegotiation}`)
      .groupBy('portal')
      .select<Array<{ portal: string; n: number }>>('portal', this.d.runtime.db.raw('count(*)::int as n'));
    return { portals: Object.fromEntries(rows.map((r) => [r.portal, r.n])) };
  }

  /** «Повторить»: the failed steps go again (one, or all of the portal's); their dead letters are forgotten. */
  async retry(memberId: string, id?: number): Promise<{ retried: number }> {
    const retried = await this.d.runtime.db.transaction(async (trx) => {
      const q = trx('dead_letters')
        .where({ consumer: IMPORT_CONSUMER, portal: memberId })
        .where('subject', 'like', `%${subjects.hhImportNegotiation}`);
      if (id !== undefined) q.where({ id });
      const rows = await q
        .forUpdate()
        .select<Array<{ id: string | number; payload: string }>>('id', 'payload');
      const steps = rows
        .map((r) => parseStep(r.payload))
        .filter((s): s is NegotiationStep => s !== null && s.memberId === memberId);
      await enqueue(
        trx,
        steps.map((step) => ({
          subject: subjects.hhImportNegotiation,
          msgId: `negotiation:${memberId}:${step.negotiationId}:${randomUUID()}`,
          payload: step,
        })),
      );
      await trx('dead_letters')
        .whereIn(
          'id',
          rows.map((r) => r.id),
        )
        .delete();
      return steps.length;
    });
    this.d.runtime.wakeOutbox();
    return { retried };
  }

  /** The delivery log keeps HH_EVENT_LOG_RETENTION_DAYS (checked every ten minutes). */
  async prune(now = Date.now()): Promise<void> {
    if (now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    const removed = await this.d.store.pruneEvents(
      new Date(now - this.d.config.HH_EVENT_LOG_RETENTION_DAYS * 86_400_000),
    );
    if (removed > 0) this.d.runtime.log.info({ removed }, 'old delivery log lines forgotten');
  }
}

/** The webhook URL's last part is a secret (the account's HMAC): the page shows where it points, not the secret. */
function withoutSecret(url: string): string {
  return url.replace(/(\/hh\/webhook\/[^/.]+)\.[^/?#]+/, '$1.•••');
}

const negotiationStep = compileSchema(NegotiationStep);

function parseStep(payload: string): NegotiationStep | null {
  try {
    const s: unknown = JSON.parse(payload);
    return negotiationStep.check(s) && /^\d{1,20}$/.test(s.negotiationId) ? s : null;
  } catch {
    return null;
  }
}

/** The last error of a failed step, told as a portal admin reads it. */
function reasonOf(error: string): string {
  const short = error.replace(/\s+/g, ' ').slice(0, 200);
  if (/hh_answer_too_large/.test(error))
    return `hh.ru прислал ответ больше допустимого размера, отклик не загружен (${short})`;
  if (/resume|резюме|pdf/i.test(error))
    return `hh.ru не отдал резюме или его PDF, отклик не загружен (${short})`;
  if (/503|502|504|timeout|unavailable|ECONN/i.test(error))
    return `hh.ru не отвечал, отклик не загружен (${short})`;
  return `Не удалось загрузить отклик с hh.ru (${short})`;
}

/** Today starts at Moscow midnight (hh.ru's day, and its daily view limit's). */
export function startOfDay(now: Date): Date {
  const msk = new Date(now.getTime() + 3 * 3600_000);
  return new Date(Date.UTC(msk.getUTCFullYear(), msk.getUTCMonth(), msk.getUTCDate()) - 3 * 3600_000);
}
