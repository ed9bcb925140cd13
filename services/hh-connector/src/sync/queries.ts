import { randomUUID } from 'node:crypto';
import {
  AppError,
  type CardView,
  type HhImportRequested,
  type HhManagerView,
  type ImportProgress,
  type ImportScope,
  type PdfRef,
  type Runtime,
  type VacancyOverview,
  enqueue,
  subjects,
  WHOLE_SCOPE,
} from '@hhb24/common';
import type { HhClient, HhNegotiation } from '../hh/index.js';
import type { Connection } from './connection.js';
import { type SyncStore, hhTime, isDiscardCollection } from './store.js';

export interface QueryDeps {
  runtime: Runtime;
  hh: () => HhClient;
  store: SyncStore;
  connection: Connection;
}

/** The answers hh-connector gives the pages (request/reply): progress, new responses, the card tab, the PDF. */
export class Queries {
  constructor(private readonly d: QueryDeps) {}

  async importProgress(memberId: string): Promise<ImportProgress> {
    const imp = await this.d.store.getImport(memberId);
    const p = await this.d.store.progress(memberId);
    const figures = {
      vacanciesTotal: p.vacanciesTotal,
      vacanciesDone: p.vacanciesDone,
      found: p.found,
      loaded: p.loaded,
      imported: p.imported,
      failed: p.failed,
    };
    if (!imp) return { state: 'never', pausedReason: null, ...figures, startedAt: null, finishedAt: null };
    let finishedAt = imp.finishedAt;
    // Finished: every vacancy paged, every negotiation loaded, and crm-writer answered for each.
    if (
      !finishedAt &&
      imp.listedAt &&
      p.vacanciesDone === p.vacanciesTotal &&
      p.unsettled === 0 &&
      p.awaitingCrm === 0
    ) {
      await this.d.store.markFinished(memberId, imp.runId);
      finishedAt = new Date();
    }
    const account = await this.d.hh().accounts.current(memberId);
    const pausedReason =
      account?.status !== 'active'
        ? 'login_required'
        : account.unpaidUntil
          ? 'no_paid_access'
          : account.viewsParkedUntil && p.unsettled > 0
            ? 'view_limit'
            : null;
    return {
      state: finishedAt ? 'finished' : pausedReason ? 'paused' : 'running',
      pausedReason: finishedAt ? null : pausedReason,
      ...figures,
      startedAt: imp.startedAt.toISOString(),
      finishedAt: finishedAt?.toISOString() ?? null,
    };
  }

  /** Marks imports that have just finished (as the progress check does), so their reconciliation starts. */
  async settleFinished(): Promise<void> {
    await this.d.store.finishCompleted();
  }

  /**
   * «Новые отклики»: counts the negotiations hh.ru has that the portal does not (not yet stored,
   * or stored and not yet written) within a choice of what to import, and reads the webhook
   * subscription. The choice is `scope` when one came (the form's, before the user confirms it),
   * else the portal's. Only with `repair` (asked by someone who may manage the app, in a POST) does
   * it keep that choice, create or renew the subscription when it is missing or wrong and start a
   * reconciliation pass that brings the new responses in; without it nothing changes, on hh.ru or
   * here.
   */
  async newResponses(
    memberId: string,
    repair = false,
    newScope?: ImportScope,
  ): Promise<{
    newCount: number;
    subscription: 'ok' | 'missing' | 'created' | 'renewed' | 'failed';
    scope?: ImportScope;
  }> {
    const account = await this.d.hh().accounts.current(memberId);
    if (!account || account.status !== 'active')
      throw new AppError('hh_not_connected', 'hh.ru is not connected for this portal', { status: 409 });
    const subscription = await (
      repair ? this.d.connection.ensureSubscription(account) : this.d.connection.subscriptionState(account)
    ).catch((err: unknown) => {
      this.d.runtime.log.warn(
        { err, account: account.id },
        'webhook subscription could not be read or renewed',
      );
      return 'failed' as const;
    });
    if (repair && newScope) await this.d.store.setScope(memberId, newScope);
    const current = await this.d.store.getImport(memberId);
    const notStored = await countNotStored(
      this.d.hh().account(account.id),
      this.d.store,
      memberId,
      newScope ?? current?.scope ?? WHOLE_SCOPE,
    );
    const row = await this.d.runtime
      .db('hh_negotiations')
      .where({ member_id: memberId })
      .whereNull('entity_id')
      .first<{ n: number } | undefined>(this.d.runtime.db.raw('count(*)::int as n'));
    if (repair && current) {
      await enqueue(this.d.runtime.db, {
        subject: subjects.hhImportRequested,
        msgId: `reconcile:${memberId}:${randomUUID()}`,
        payload: {
          memberId,
          kind: 'reconcile',
          requestedBy: null,
          requestedAt: new Date().toISOString(),
        } satisfies HhImportRequested,
      });
      this.d.runtime.wakeOutbox();
    }
    return {
      newCount: notStored + Number(row?.n ?? 0),
      subscription,
      ...(current ? { scope: current.scope } : {}),
    };
  }

  /**
   * The portal's login as the pages may use it: the current one, unless it was logged out or
   * replaced. A login hh.ru revoked still counts: what it last read stays shown.
   */
  private async shownAccount(memberId: string) {
    const account = await this.d.hh().accounts.current(memberId);
    if (!account || account.statusReason === 'disconnected' || account.statusReason === 'replaced')
      throw new AppError('hh_not_connected', 'hh.ru is not connected for this portal', { status: 409 });
    return account;
  }

  /**
   * The active vacancies, for the choice of what to import: as the last listing kept them (at the
   * login, the import, each reconciliation and VACANCY_CHANGE), so the page asks nothing of hh.ru.
   */
  async vacancies(memberId: string): Promise<{ items: Array<{ id: string; name: string }> }> {
    await this.shownAccount(memberId);
    const rows = await this.d.store.activeVacancies(memberId);
    return { items: rows.map((v) => ({ id: v.vacancy_id, name: v.name })) };
  }

  /** The employer's managers as the last listing kept them, for mapping each to a portal user. */
  async managers(memberId: string): Promise<{ items: HhManagerView[] }> {
    const account = await this.shownAccount(memberId);
    const managers = await this.d.store.keptManagers(memberId, account.employerId);
    return {
      items: managers.map((m) => ({
        employerId: account.employerId,
        managerId: m.manager_id,
        firstName: m.first_name,
        lastName: m.last_name,
        middleName: m.middle_name,
        email: m.email,
        vacancies: m.vacancies_count,
      })),
    };
  }

  /**
   * «Вакансии»: the active vacancies as the last listing kept them (their managers and regions),
   * with how many of each one's negotiations we hold and how many are in the CRM.
   */
  async vacancyOverview(memberId: string): Promise<{ items: VacancyOverview[] }> {
    const account = await this.shownAccount(memberId);
    const [vacancies, counts] = await Promise.all([
      this.d.store.activeVacancies(memberId),
      this.d.store.negotiationCounts(memberId),
    ]);
    return {
      items: vacancies.map((v) => ({
        id: v.vacancy_id,
        name: v.name,
        area: v.area_id ? { id: v.area_id, name: v.area_name ?? '' } : null,
        employerId: account.employerId,
        managerId: v.manager_id,
        managerName: v.manager_name,
        responses: counts.get(v.vacancy_id)?.held ?? 0,
        inCrm: counts.get(v.vacancy_id)?.inCrm ?? 0,
      })),
    };
  }

  async card(req: {
    memberId: string;
    entityType: 'lead' | 'deal';
    entityId: number;
  }): Promise<CardView | null> {
    const row = await this.d.store.byEntity(req.memberId, req.entityType, req.entityId);
    if (!row?.snapshot) return null;
    const others = row.personId
      ? await this.d.store.samePerson(req.memberId, row.personId, row.negotiationId)
      : [];
    return {
      snapshot: row.snapshot,
      history: await this.d.store.history(req.memberId, row.negotiationId),
      others: others.map((o) => ({
        negotiationId: o.negotiationId,
        vacancyName: o.snapshot!.vacancy.name,
        stateName: o.snapshot!.state.name,
        createdAt: o.snapshot!.createdAt,
        kind: o.snapshot!.kind,
        entity: o.entityType && o.entityId ? { type: o.entityType, id: o.entityId } : null,
      })),
      // Not once the PDF was dropped: the file is then in the lead's or deal's «Резюме» field.
      pdfAvailable:
        Boolean(row.snapshot.resume?.pdf) &&
        Boolean(
          row.snapshot.applicant.resumeId &&
          (await this.d.store.getResume(req.memberId, row.snapshot.applicant.resumeId))?.hasPdf,
        ),
    };
  }

  /** Where the negotiation's stored PDF is: the reader takes it from the file store. */
  async pdf(req: { memberId: string; negotiationId: string }): Promise<PdfRef | null> {
    const row = await this.d.store.get(req.memberId, req.negotiationId);
    const filename = row?.snapshot?.resume?.pdf?.filename;
    const resumeId = row?.snapshot?.applicant.resumeId;
    if (!filename || !resumeId) return null;
    const ref = await this.d.store.pdf(req.memberId, resumeId);
    return ref ? { filename, file: ref.key, size: ref.size } : null;
  }
}

const COUNT_OPTS = { maxWaitMs: 10_000 };
const DAY_MS = 86_400_000;

/**
 * How many negotiations of a choice hh.ru has that we do not keep. Every vacancy's counters say it
 * for the whole choice (one list of vacancies). Leaving out the discards reads each chosen
 * vacancy's collections (one request per vacancy: their sizes, against the ones we keep per
 * collection). A period pages the collections that hold more than we keep, newest first where
 * hh.ru offers the order by creation (`created_at`), until a page reaches past the period; hh.ru
 * has no date filter for these lists (docs/reference/hh-api.md#negotiation-lists).
 */
export async function countNotStored(
  client: ReturnType<HhClient['account']>,
  store: SyncStore,
  memberId: string,
  scope: ImportScope,
  now = Date.now(),
): Promise<number> {
  const vacancies = (await client.visibleVacancies(COUNT_OPTS)).filter(
    (v) => !scope.vacancyIds || scope.vacancyIds.includes(v.id),
  );
  const held = await store.countsByVacancy(memberId);
  let notStored = 0;
  if (scope.discarded && scope.periodDays === null) {
    for (const v of vacancies)
      notStored += Math.max(
        0,
        (v.counters?.responses ?? 0) + (v.counters?.invitations ?? 0) - (held.get(v.id) ?? 0),
      );
    return notStored;
  }
  const since = scope.periodDays === null ? null : now - scope.periodDays * DAY_MS;
  for (const v of vacancies) {
    const { collections } = await client.collections(v.id, COUNT_OPTS);
    const heldHere = await store.countsByCollection(memberId, v.id);
    const keptIds = since === null ? null : await store.idsOfVacancy(memberId, v.id);
    for (const c of collections) {
      if (!scope.discarded && isDiscardCollection(c.id)) continue;
      const total = c.counters?.total;
      const lacking = total === undefined ? null : Math.max(0, total - (heldHere.get(c.id) ?? 0));
      if (lacking === 0) continue;
      if (since === null || keptIds === null) {
        notStored += lacking ?? 0;
        continue;
      }
      const byCreation = c.order_types?.find((o) => o.id === 'created_at')?.url;
      for (let page = 0; ; page++) {
        const p = await client.collectionPage(byCreation ?? c.url, page, 50, COUNT_OPTS);
        notStored += p.items.filter((n) => !keptIds.has(n.id) && hhTime(n.created_at) >= since).length;
        if (page + 1 >= p.pages || p.items.length === 0) break;
        if (byCreation && newestFirstPast(p.items, since)) break;
      }
    }
  }
  return notStored;
}

/** A page in creation order, newest first, whose last item is older than the period: the rest is older still. */
function newestFirstPast(items: HhNegotiation[], since: number): boolean {
  const times = items.map((n) => hhTime(n.created_at));
  const descending = times.every((t, i) => i === 0 || t <= times[i - 1]!);
  return descending && times[times.length - 1]! < since;
}
