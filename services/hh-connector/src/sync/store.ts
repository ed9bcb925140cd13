import { randomUUID } from 'node:crypto';
import {
  type ImportProgress,
  type ImportScope,
  type Knex,
  type Metrics,
  type NegotiationSnapshot,
  type StoredFileRef,
  type SyncEventView,
  WHOLE_SCOPE,
} from '@hhb24/common';
import type { HhManager, HhNegotiation, HhVacancy } from '../hh/index.js';
import type { KeptResume, Kind } from './snapshot.js';

/**
 * hh-connector's sync tables (docs/architecture.md): the import of each portal, the vacancies and
 * negotiations its account sees, the resumes and PDFs read once, the people behind them, the
 * state history and the webhook delivery log. Every query is scoped by portal (member_id).
 */
export interface NegotiationRow {
  memberId: string;
  negotiationId: string;
  accountId: string;
  vacancyId: string;
  collectionId: string | null;
  employerStateId: string;
  resumeId: string | null;
  item: HhNegotiation;
  itemSeq: number;
  kind: Kind | null;
  status: 'pending' | 'parked' | 'ready';
  personId: string | null;
  version: number;
  snapshot: NegotiationSnapshot | null;
  loadedAt: Date | null;
  entityType: 'lead' | 'deal' | null;
  entityId: number | null;
  /** Its lead or deal holds the resume file (crm-writer said so). */
  crmHasPdf: boolean;
  /** The applicant's cover letter; null: none, or not read yet (`letterRead`). */
  coverLetter: string | null;
  letterRead: boolean;
}

export interface ImportRow {
  memberId: string;
  accountId: string;
  runId: string;
  requestId: string | null;
  startedAt: Date;
  listedAt: Date | null;
  finishedAt: Date | null;
  /** What the portal chose to import (WHOLE_SCOPE when it chose nothing). */
  scope: ImportScope;
}

export interface VacancyRow {
  memberId: string;
  vacancyId: string;
  accountId: string;
  name: string;
  url: string | null;
  /** The vacancy's hh.ru manager as hh.ru last listed it (null: not listed yet). */
  managerId: string | null;
  area: { id: string; name: string } | null;
}

interface DbNegotiation {
  member_id: string;
  negotiation_id: string;
  account_id: string;
  vacancy_id: string;
  collection_id: string | null;
  employer_state_id: string;
  applicant_state_id: string | null;
  updated_at_hh: string;
  resume_id: string | null;
  resume_updated_at: string | null;
  item: HhNegotiation;
  item_seq: number;
  kind: Kind | null;
  status: NegotiationRow['status'];
  person_id: string | null;
  version: number;
  snapshot: NegotiationSnapshot | null;
  loaded_at: Date | null;
  entity_type: 'lead' | 'deal' | null;
  entity_id: number | null;
  crm_has_pdf?: boolean;
  cover_letter?: string | null;
  letter_read?: boolean;
}

interface DbImport {
  member_id: string;
  account_id: string;
  run_id: string;
  request_id: string | null;
  started_at: Date;
  listed_at: Date | null;
  finished_at: Date | null;
  scope: ImportScope | null;
}

const toImport = (r: DbImport): ImportRow => ({
  memberId: r.member_id,
  accountId: r.account_id,
  runId: r.run_id,
  requestId: r.request_id,
  startedAt: r.started_at,
  listedAt: r.listed_at,
  finishedAt: r.finished_at,
  scope: r.scope ?? WHOLE_SCOPE,
});

/**
 * Whether a negotiation not kept yet is one the portal chose to import: its vacancy, its
 * collection (hh.ru's discard collections, when left out) and its creation within the period.
 */
export function inScope(
  scope: ImportScope,
  item: HhNegotiation,
  vacancyId: string,
  collectionId: string | null,
  now = Date.now(),
): boolean {
  if (scope.vacancyIds && !scope.vacancyIds.includes(vacancyId)) return false;
  if (!scope.discarded && isDiscardCollection(collectionId ?? item.employer_state.id)) return false;
  if (scope.periodDays !== null) {
    const created = hhTime(item.created_at);
    if (!(created >= now - scope.periodDays * 86_400_000)) return false;
  }
  return true;
}

/** hh.ru's discard collections and states: discard_by_employer, discard_by_applicant, … */
export const isDiscardCollection = (id: string): boolean => id.startsWith('discard');

const toRow = (r: DbNegotiation): NegotiationRow => ({
  memberId: r.member_id,
  negotiationId: r.negotiation_id,
  accountId: r.account_id,
  vacancyId: r.vacancy_id,
  collectionId: r.collection_id,
  employerStateId: r.employer_state_id,
  resumeId: r.resume_id,
  item: r.item,
  itemSeq: r.item_seq,
  kind: r.kind,
  status: r.status,
  personId: r.person_id,
  version: r.version,
  snapshot: r.snapshot,
  loadedAt: r.loaded_at,
  entityType: r.entity_type,
  entityId: r.entity_id,
  crmHasPdf: Boolean(r.crm_has_pdf),
  coverLetter: r.cover_letter ?? null,
  letterRead: Boolean(r.letter_read),
});

/** What of an item is worth a new snapshot: its states, its last change, its resume. */
function signature(item: HhNegotiation): string {
  return JSON.stringify([
    item.employer_state?.id,
    item.state?.id,
    item.updated_at,
    // The applicant's words: a new message (unread), a test passed.
    item.counters?.unread_messages ?? null,
    item.test_result ? [item.test_result.score, item.test_result.mark ?? null] : null,
    item.resume
      ? [item.resume.id, item.resume.updated_at ?? null, item.resume.hidden_fields?.map((h) => h.id)]
      : null,
  ]);
}

/** hh.ru's `updated_at` as milliseconds (it writes `2015-05-14T12:00:05+0300`); NaN when it is missing or unreadable. */
export function hhTime(value: string | null | undefined): number {
  return value ? Date.parse(value) : NaN;
}

/** An item read from hh.ru that was older than the one kept (or as old but different), so not stored. */
export interface RefusedItem {
  negotiationId: string;
  /** hh.ru's `updated_at` of the item kept. */
  held: string;
  /** hh.ru's `updated_at` of the item refused. */
  read: string;
  /** As old as the item kept but different: which is newer cannot be told from the items. */
  tie: boolean;
}

export interface UpsertOptions {
  /** A reconciliation pass: what it finds is logged as found by it. */
  source?: 'reconcile';
  /**
   * An item as old as the kept one (hh.ru's `updated_at` has whole seconds) but different: `accept`
   * it (a page of a collection, read after the kept item was) or `refuse` it so that the caller reads
   * the negotiation again (a single read that may have been answered late).
   */
  onTie?: 'accept' | 'refuse';
  /** Filled with the items not stored because they were older than the kept ones. */
  refused?: RefusedItem[];
  /** A negotiation not kept yet is stored only if it is in the portal's choice (kept ones are always followed). */
  scope?: ImportScope;
  /** Filled with the new negotiations left out by `scope`. */
  outOfScope?: string[];
}

/** The item as kept: what the snapshot needs, without the per-call action lists and templates. */
function keptItem(item: HhNegotiation): HhNegotiation {
  const { actions: _actions, ...rest } = item as HhNegotiation & { templates?: unknown };
  delete (rest as { templates?: unknown }).templates;
  return { ...rest, actions: [] };
}

export class SyncStore {
  constructor(
    private readonly db: Knex,
    private readonly metrics?: Metrics,
  ) {}

  // ---- imports ---------------------------------------------------------------------------

  async getImport(memberId: string, db: Knex | Knex.Transaction = this.db): Promise<ImportRow | undefined> {
    const r = (await db('hh_imports').where({ member_id: memberId }).first()) as DbImport | undefined;
    return r && toImport(r);
  }

  /** A new initial import: a new run (its steps carry the id), counted from zero. */
  async startImport(
    trx: Knex.Transaction,
    memberId: string,
    accountId: string,
    requestId: string,
    requestedBy: number | null,
    scope: ImportScope | null,
  ): Promise<string> {
    const runId = randomUUID();
    await trx('hh_imports')
      .insert({
        member_id: memberId,
        account_id: accountId,
        run_id: runId,
        request_id: requestId,
        requested_by: requestedBy,
        scope: scope && JSON.stringify(scope),
        started_at: trx.fn.now(),
        listed_at: null,
        finished_at: null,
      })
      .onConflict('member_id')
      .merge();
    await trx('hh_vacancies')
      .where({ member_id: memberId })
      .update({ import_run_id: null, import_state: null });
    return runId;
  }

  async markListed(trx: Knex.Transaction, memberId: string, runId: string): Promise<void> {
    await trx('hh_imports').where({ member_id: memberId, run_id: runId }).update({ listed_at: trx.fn.now() });
  }

  /** The portal's login changed to another hh.ru account: its import continues under the new one. */
  /** A new choice of what to import («Новые отклики»): it applies to what is found from now on. */
  async setScope(memberId: string, scope: ImportScope): Promise<boolean> {
    return (
      (await this.db('hh_imports')
        .where({ member_id: memberId })
        .update({ scope: JSON.stringify(scope) })) > 0
    );
  }

  async moveImport(memberId: string, accountId: string): Promise<boolean> {
    return (await this.db('hh_imports').where({ member_id: memberId }).update({ account_id: accountId })) > 0;
  }

  // ---- vacancies -------------------------------------------------------------------------

  async upsertVacancies(
    trx: Knex.Transaction,
    memberId: string,
    accountId: string,
    vacancies: HhVacancy[],
    importRunId: string | null,
  ): Promise<void> {
    if (vacancies.length === 0) return;
    const rows = vacancies.map((v) => ({
      member_id: memberId,
      vacancy_id: v.id,
      account_id: accountId,
      name: v.name,
      url: v.alternate_url ?? null,
      manager_id: v.manager?.id ?? null,
      manager_name: v.manager
        ? [v.manager.last_name, v.manager.first_name].filter(Boolean).join(' ') || null
        : null,
      area_id: v.area?.id ?? null,
      area_name: v.area?.name ?? null,
      counters: JSON.stringify(v.counters ?? null),
      active: true,
      updated_at: trx.fn.now(),
      ...(importRunId ? { import_run_id: importRunId, import_state: 'pending' } : {}),
    }));
    await trx('hh_vacancies')
      .insert(rows)
      .onConflict(['member_id', 'vacancy_id'])
      .merge([
        'account_id',
        'name',
        'url',
        'manager_id',
        'manager_name',
        'area_id',
        'area_name',
        'counters',
        'active',
        'updated_at',
        ...(importRunId ? ['import_run_id', 'import_state'] : []),
      ]);
  }

  async getVacancy(memberId: string, vacancyId: string): Promise<VacancyRow | undefined> {
    const r = await this.db('hh_vacancies').where({ member_id: memberId, vacancy_id: vacancyId }).first<
      | {
          member_id: string;
          vacancy_id: string;
          account_id: string;
          name: string;
          url: string | null;
          manager_id: string | null;
          area_id: string | null;
          area_name: string | null;
        }
      | undefined
    >();
    return (
      r && {
        memberId: r.member_id,
        vacancyId: r.vacancy_id,
        accountId: r.account_id,
        name: r.name,
        url: r.url,
        managerId: r.manager_id,
        area: r.area_id ? { id: r.area_id, name: r.area_name ?? '' } : null,
      }
    );
  }

  /** A vacancy hh.ru no longer shows (a webhook's negotiation named it first): kept with what the negotiation says. */
  async ensureVacancy(
    memberId: string,
    accountId: string,
    v: { id: string; name: string; alternate_url?: string },
  ): Promise<boolean> {
    const added = await this.db('hh_vacancies')
      .insert({
        member_id: memberId,
        vacancy_id: v.id,
        account_id: accountId,
        name: v.name,
        url: v.alternate_url ?? null,
        // Not listed yet: the listing read next says whether it is active.
        active: false,
      })
      .onConflict(['member_id', 'vacancy_id'])
      .ignore()
      .returning('vacancy_id');
    return added.length > 0;
  }

  async vacancyDone(memberId: string, vacancyId: string, runId: string | null): Promise<void> {
    const q = this.db('hh_vacancies').where({ member_id: memberId, vacancy_id: vacancyId });
    await q.update({
      reconciled_at: this.db.fn.now(),
      ...(runId
        ? {
            import_state: this.db.raw(`case when import_run_id = ? then 'done' else import_state end`, [
              runId,
            ]),
          }
        : {}),
    });
  }

  async pendingImportVacancies(memberId: string, runId: string): Promise<string[]> {
    return (await this.db('hh_vacancies')
      .where({ member_id: memberId, import_run_id: runId, import_state: 'pending' })
      .pluck('vacancy_id')) as string[];
  }

  /**
   * What one reading of hh.ru's lists says (HhAccountClient.listing): every active vacancy the
   * login sees with its name, manager and region, the vacancies it no longer lists marked inactive,
   * and the employer's managers in place of those kept before. A login that may not list the
   * managers keeps those its vacancies name (without e-mail). The pages read these rows and never
   * ask hh.ru themselves.
   */
  async keepListing(
    trx: Knex.Transaction,
    memberId: string,
    account: { id: string; employerId: string },
    listing: { vacancies: HhVacancy[]; managers: HhManager[] | null },
  ): Promise<void> {
    const { vacancies } = listing;
    await this.upsertVacancies(trx, memberId, account.id, vacancies, null);
    await trx('hh_vacancies')
      .where({ member_id: memberId, active: true })
      .whereNotIn(
        'vacancy_id',
        vacancies.map((v) => v.id),
      )
      .update({ active: false, updated_at: trx.fn.now() });
    const managers: HhManager[] =
      listing.managers ??
      [...new Map(vacancies.filter((v) => v.manager).map((v) => [v.manager.id, v.manager])).values()].map(
        (m) => ({
          ...m,
          email: '',
          vacancies_count: vacancies.filter((v) => v.manager?.id === m.id).length,
        }),
      );
    await trx('hh_managers')
      .where({ member_id: memberId })
      .whereNot(function () {
        this.where('employer_id', account.employerId).whereIn(
          'manager_id',
          managers.map((m) => m.id),
        );
      })
      .delete();
    if (managers.length === 0) return;
    await trx('hh_managers')
      .insert(
        managers.map((m) => ({
          member_id: memberId,
          employer_id: account.employerId,
          manager_id: m.id,
          account_id: account.id,
          first_name: m.first_name ?? '',
          last_name: m.last_name ?? '',
          middle_name: m.middle_name ?? null,
          email: m.email || null,
          vacancies_count: m.vacancies_count ?? null,
          updated_at: trx.fn.now(),
        })),
      )
      .onConflict(['member_id', 'employer_id', 'manager_id'])
      .merge([
        'account_id',
        'first_name',
        'last_name',
        'middle_name',
        'email',
        'vacancies_count',
        'updated_at',
      ]);
  }

  /** The employer's managers as the last listing kept them, by name. */
  async keptManagers(
    memberId: string,
    employerId: string,
  ): Promise<
    Array<{
      manager_id: string;
      first_name: string;
      last_name: string;
      middle_name: string | null;
      email: string | null;
      vacancies_count: number | null;
    }>
  > {
    return this.db('hh_managers')
      .where({ member_id: memberId, employer_id: employerId })
      .orderBy(['last_name', 'first_name', 'manager_id'])
      .select('manager_id', 'first_name', 'last_name', 'middle_name', 'email', 'vacancies_count');
  }

  /** The vacancies the last listing had as active, by name. */
  async activeVacancies(memberId: string): Promise<
    Array<{
      vacancy_id: string;
      name: string;
      manager_id: string | null;
      manager_name: string | null;
      area_id: string | null;
      area_name: string | null;
    }>
  > {
    return this.db('hh_vacancies')
      .where({ member_id: memberId, active: true })
      .orderBy(['name', 'vacancy_id'])
      .select('vacancy_id', 'name', 'manager_id', 'manager_name', 'area_id', 'area_name');
  }

  /** Per vacancy: the negotiations we hold and how many of them have a lead or deal. */
  async negotiationCounts(memberId: string): Promise<Map<string, { held: number; inCrm: number }>> {
    const rows = await this.db('hh_negotiations')
      .where({ member_id: memberId })
      .groupBy('vacancy_id')
      .select<Array<{ vacancy_id: string; held: number; in_crm: number }>>(
        'vacancy_id',
        this.db.raw('count(*)::int as held'),
        this.db.raw('count(entity_id)::int as in_crm'),
      );
    return new Map(rows.map((r) => [r.vacancy_id, { held: r.held, inCrm: r.in_crm }]));
  }

  /** How many of the vacancy's negotiations we hold, per collection they were last seen in. */
  async countsByCollection(memberId: string, vacancyId: string): Promise<Map<string, number>> {
    return new Map([...(await this.collectionFigures(memberId, vacancyId))].map(([id, f]) => [id, f.total]));
  }

  /** Per collection: the negotiations we keep, and those of them hh.ru last flagged `has_updates`. */
  async collectionFigures(
    memberId: string,
    vacancyId: string,
  ): Promise<Map<string, { total: number; withUpdates: number }>> {
    const rows = await this.db('hh_negotiations')
      .where({ member_id: memberId, vacancy_id: vacancyId })
      .groupBy('collection_id')
      .select(
        'collection_id',
        this.db.raw('count(*)::int as n'),
        this.db.raw(`count(*) filter (where (item->>'has_updates')::boolean)::int as u`),
      );
    return new Map(
      rows.map((r: { collection_id: string | null; n: number; u: number }) => [
        r.collection_id ?? '',
        { total: r.n, withUpdates: r.u },
      ]),
    );
  }

  /** The ids of the negotiations of one vacancy we keep. */
  async idsOfVacancy(memberId: string, vacancyId: string): Promise<Set<string>> {
    return new Set(
      (await this.db('hh_negotiations')
        .where({ member_id: memberId, vacancy_id: vacancyId })
        .pluck('negotiation_id')) as string[],
    );
  }

  async countsByVacancy(memberId: string): Promise<Map<string, number>> {
    const rows = await this.db('hh_negotiations')
      .where({ member_id: memberId })
      .groupBy('vacancy_id')
      .select('vacancy_id', this.db.raw('count(*)::int as n'));
    return new Map(rows.map((r: { vacancy_id: string; n: number }) => [r.vacancy_id, r.n]));
  }

  // ---- negotiations ----------------------------------------------------------------------

  /**
   * Stores the items of one list page (or one re-read negotiation) and says which need a step:
   * new ones, changed ones, and those whose earlier step did not finish (a login or the view
   * limit stopped it). Tombstones keep the resume they had.
   */
  async upsertItems(
    trx: Knex.Transaction,
    memberId: string,
    accountId: string,
    vacancyId: string,
    collectionId: string | null,
    items: HhNegotiation[],
    options: UpsertOptions = {},
  ): Promise<string[]> {
    const { source, onTie = 'accept', refused, scope, outOfScope } = options;
    if (items.length === 0) return [];
    const found: Array<{ id: string; type: 'found' | 'changed' }> = [];
    const ids = items.map((i) => i.id);
    const existing = new Map<string, DbNegotiation>(
      (
        (await trx('hh_negotiations')
          .where({ member_id: memberId })
          .whereIn('negotiation_id', ids)
          .forUpdate()) as DbNegotiation[]
      ).map((r) => [r.negotiation_id, r]),
    );
    const needStep: string[] = [];
    for (const item of items) {
      let old = existing.get(item.id);
      const base = {
        account_id: accountId,
        vacancy_id: vacancyId,
        collection_id: collectionId ?? item.employer_state.id,
        updated_at: trx.fn.now(),
      };
      if (!old && scope && !inScope(scope, item, vacancyId, collectionId)) {
        outOfScope?.push(item.id);
        continue;
      }
      if (!old) {
        // A webhook and an import page may bring the same new negotiation at once: the loser of
        // the insert waits for the winner's commit, then treats the row as one it had found.
        const inserted = await trx('hh_negotiations')
          .insert({
            member_id: memberId,
            negotiation_id: item.id,
            ...base,
            employer_state_id: item.employer_state.id,
            applicant_state_id: item.state?.id ?? null,
            updated_at_hh: item.updated_at,
            resume_id: item.resume?.id ?? null,
            resume_updated_at: item.resume?.updated_at ?? null,
            item: JSON.stringify(keptItem(item)),
            status: 'pending',
          })
          .onConflict(['member_id', 'negotiation_id'])
          .ignore()
          .returning('negotiation_id');
        if (inserted.length > 0) {
          needStep.push(item.id);
          found.push({ id: item.id, type: 'found' });
          continue;
        }
        old = (await trx('hh_negotiations')
          .where({ member_id: memberId, negotiation_id: item.id })
          .forUpdate()
          .first()) as DbNegotiation;
      }
      const changed = signature(old.item) !== signature(item);
      // Never backwards: an answer older than the item kept (a read answered late, a page read
      // before a webhook's read was stored) would move the negotiation back to a state hh.ru left.
      const read = hhTime(item.updated_at);
      const held = hhTime(old.updated_at_hh);
      if (changed && (read < held || (read === held && onTie === 'refuse'))) {
        refused?.push({
          negotiationId: item.id,
          held: old.updated_at_hh,
          read: item.updated_at,
          tie: read === held,
        });
        if (old.status === 'pending') needStep.push(item.id);
        continue;
      }
      if (changed) {
        await trx('hh_negotiations')
          .where({ member_id: memberId, negotiation_id: item.id })
          .update({
            ...base,
            employer_state_id: item.employer_state.id,
            applicant_state_id: item.state?.id ?? null,
            updated_at_hh: item.updated_at,
            resume_id: item.resume?.id ?? old.resume_id,
            resume_updated_at: item.resume?.updated_at ?? old.resume_updated_at,
            item: JSON.stringify(keptItem(item)),
            item_seq: old.item_seq + 1,
            status: 'pending',
            // A step already queued may have read the old item; this one needs a step of its own.
            queued_at: null,
          });
        needStep.push(item.id);
        found.push({ id: item.id, type: 'changed' });
      } else {
        await trx('hh_negotiations').where({ member_id: memberId, negotiation_id: item.id }).update(base);
        if (old.status === 'pending') needStep.push(item.id);
      }
    }
    // What a reconciliation pass brought in is what the webhooks missed (or had not brought yet).
    if (source === 'reconcile' && found.length > 0) {
      await this.logEvents(
        trx,
        found.map((f) => ({
          memberId,
          source: 'reconcile',
          type: f.type,
          negotiationId: f.id,
          outcome: f.type === 'found' ? 'new' : 'changed',
        })),
      );
      await trx('hh_reconciliations').where({ member_id: memberId }).increment('found', found.length);
      for (const f of found) this.metrics?.syncOutcomes.inc({ stage: 'reconcile', outcome: f.type });
    }
    return needStep;
  }

  async get(
    memberId: string,
    negotiationId: string,
    db: Knex | Knex.Transaction = this.db,
    forUpdate = false,
  ): Promise<NegotiationRow | undefined> {
    const q = db('hh_negotiations').where({ member_id: memberId, negotiation_id: negotiationId }).first();
    const r = (await (forUpdate ? q.forUpdate() : q)) as DbNegotiation | undefined;
    return r && toRow(r);
  }

  /** The cover letter as read from the first message (null: none); it is not read again. */
  async setLetter(memberId: string, negotiationId: string, letter: string | null): Promise<void> {
    await this.db('hh_negotiations')
      .where({ member_id: memberId, negotiation_id: negotiationId })
      .update({ cover_letter: letter, letter_read: true });
  }

  /**
   * We opened this response on hh.ru (its resume through the negotiation, or its messages): hh.ru
   * no longer flags it for attention, and read messages are no longer unread. The item kept says
   * so too, as the next list would, so a reconciliation compares like with like (not a change of
   * the negotiation: no new step).
   */
  async markSeen(
    memberId: string,
    negotiationId: string,
    itemSeq: number,
    messagesRead: boolean,
  ): Promise<void> {
    const where = { member_id: memberId, negotiation_id: negotiationId, item_seq: itemSeq };
    const row = await this.db('hh_negotiations')
      .where(where)
      .first<{ item: HhNegotiation } | undefined>('item');
    if (!row) return;
    const counters = row.item.counters
      ? { ...row.item.counters, ...(messagesRead ? { unread_messages: 0 } : {}) }
      : row.item.counters;
    const item = { ...row.item, counters, has_updates: (counters?.unread_messages ?? 0) > 0 };
    // A newer item stored meanwhile (item_seq moved on) is left as hh.ru gave it.
    await this.db('hh_negotiations')
      .where(where)
      .update({ item: JSON.stringify(item) });
  }

  async setKind(memberId: string, negotiationId: string, kind: Kind): Promise<void> {
    await this.db('hh_negotiations')
      .where({ member_id: memberId, negotiation_id: negotiationId })
      .whereNull('kind')
      .update({ kind });
  }

  /** The step stopped for the resume views: it goes again when they are back (unless the item changed meanwhile). */
  async markParked(memberId: string, negotiationId: string, itemSeq: number): Promise<void> {
    await this.db('hh_negotiations')
      .where({ member_id: memberId, negotiation_id: negotiationId, item_seq: itemSeq })
      .update({ status: 'parked' });
  }

  /** The account's parked negotiations go back to pending, to be fed steps again. */
  async unpark(memberId: string): Promise<number> {
    return this.db('hh_negotiations')
      .where({ member_id: memberId, status: 'parked' })
      .update({ status: 'pending', queued_at: null });
  }

  /**
   * A webhook hands a negotiation over as a step: marked queued (so the feed adds no other) when it
   * is in flight already or the portal's window has room; false when the window is full, and the
   * feed gives it its step when there is room.
   */
  async queueInWindow(
    trx: Knex.Transaction,
    memberId: string,
    negotiationId: string,
    window: number,
    staleMs: number,
  ): Promise<boolean> {
    await this.lockFeed(trx, memberId);
    const { rows } = await trx.raw<{ rows: unknown[] }>(
      `with in_flight as (
         select count(*)::int as n from hh_negotiations
          where member_id = :memberId and status = 'pending' and queued_at > now() - make_interval(secs => :staleSec)
       )
       update hh_negotiations set queued_at = now()
        where member_id = :memberId and negotiation_id = :negotiationId
          and (queued_at > now() - make_interval(secs => :staleSec) or (select n from in_flight) < :window)
       returning negotiation_id`,
      { memberId, negotiationId, window, staleSec: staleMs / 1000 },
    );
    return rows.length > 0;
  }

  /**
   * One feed of a portal's window at a time (replicas feed as their steps finish): two at once each
   * counted the same steps in flight and together queued past the window. Held until the commit,
   * so the next one counts what this one queued.
   */
  private async lockFeed(trx: Knex.Transaction, memberId: string): Promise<void> {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`hhb24:import-feed:${memberId}`]);
  }

  /** After a new login: every pending negotiation of the portal is to be fed a step again. */
  async unqueue(memberId: string): Promise<number> {
    return this.db('hh_negotiations')
      .where({ member_id: memberId, status: 'pending' })
      .whereNotNull('queued_at')
      .update({ queued_at: null });
  }

  /**
   * Takes the portal's next pending negotiations that have no step yet, as many as fit its window
   * (steps queued within `staleMs` count as in flight; older ones, lost to a dead letter, stop
   * counting but are not fed again until a login or «Повторить» asks), and marks them queued.
   */
  async takeForSteps(
    trx: Knex.Transaction,
    memberId: string,
    window: number,
    staleMs: number,
  ): Promise<string[]> {
    await this.lockFeed(trx, memberId);
    const { rows } = await trx.raw<{ rows: Array<{ negotiation_id: string }> }>(
      `with in_flight as (
         select count(*)::int as n from hh_negotiations
          where member_id = :memberId and status = 'pending' and queued_at > now() - make_interval(secs => :staleSec)
       ), next as (
         select negotiation_id from hh_negotiations
          where member_id = :memberId and status = 'pending' and queued_at is null
          order by first_seen_at, negotiation_id
          limit greatest(0, :window - (select n from in_flight))
          for update skip locked
       )
       update hh_negotiations h set queued_at = now()
         from next where h.member_id = :memberId and h.negotiation_id = next.negotiation_id
       returning h.negotiation_id`,
      { memberId, window, staleSec: staleMs / 1000 },
    );
    return rows.map((r) => r.negotiation_id);
  }

  /** Portals with negotiations waiting for a step and none in flight (the safety net of the feed). */
  async starved(staleMs: number): Promise<string[]> {
    const { rows } = await this.db.raw<{ rows: Array<{ member_id: string }> }>(
      `select member_id from hh_negotiations where status = 'pending'
        group by member_id
       having count(*) filter (where queued_at > now() - make_interval(secs => ?)) = 0 and count(*) filter (where queued_at is null) > 0`,
      [staleMs / 1000],
    );
    return rows.map((r) => r.member_id);
  }

  async parked(memberId: string): Promise<string[]> {
    return (await this.db('hh_negotiations')
      .where({ member_id: memberId, status: 'parked' })
      .pluck('negotiation_id')) as string[];
  }

  /**
   * Stores a snapshot (a new version when it says something new) and settles the row if no newer
   * item arrived meanwhile. Returns the version to hand on, or null when nothing changed.
   */
  async settle(
    trx: Knex.Transaction,
    row: NegotiationRow,
    snapshot: NegotiationSnapshot,
    changed: boolean,
  ): Promise<void> {
    const patch: Record<string, unknown> = { updated_at: trx.fn.now(), person_id: snapshot.personId };
    if (changed) {
      patch['version'] = snapshot.version;
      patch['snapshot'] = JSON.stringify(snapshot);
      patch['loaded_at'] = trx.raw('coalesce(loaded_at, now())');
      patch['kind'] = snapshot.kind;
    }
    await trx('hh_negotiations')
      .where({ member_id: row.memberId, negotiation_id: row.negotiationId })
      .update(patch);
    await trx('hh_negotiations')
      .where({ member_id: row.memberId, negotiation_id: row.negotiationId, item_seq: row.itemSeq })
      .update({ status: 'ready' });
  }

  async addHistory(
    trx: Knex.Transaction,
    memberId: string,
    negotiationId: string,
    state: { id: string; name: string },
    at: string,
  ): Promise<void> {
    await trx('hh_state_history')
      .insert({
        member_id: memberId,
        negotiation_id: negotiationId,
        state_id: state.id,
        state_name: state.name,
        at,
      })
      .onConflict(['member_id', 'negotiation_id', 'state_id', 'at'])
      .ignore();
  }

  async history(
    memberId: string,
    negotiationId: string,
  ): Promise<Array<{ stateId: string; stateName: string; at: string }>> {
    const rows = await this.db('hh_state_history')
      .where({ member_id: memberId, negotiation_id: negotiationId })
      .orderBy('at')
      .orderBy('id');
    return rows.map((r: { state_id: string; state_name: string; at: string }) => ({
      stateId: r.state_id,
      stateName: r.state_name,
      at: r.at,
    }));
  }

  async byEntity(
    memberId: string,
    entityType: 'lead' | 'deal',
    entityId: number,
  ): Promise<NegotiationRow | undefined> {
    const r = (await this.db('hh_negotiations')
      .where({ member_id: memberId, entity_type: entityType, entity_id: entityId })
      .first()) as DbNegotiation | undefined;
    return r && toRow(r);
  }

  async samePerson(memberId: string, personId: string, exceptId: string): Promise<NegotiationRow[]> {
    const rows = (await this.db('hh_negotiations')
      .where({ member_id: memberId, person_id: personId })
      .whereNot({ negotiation_id: exceptId })
      .whereNotNull('snapshot')
      .orderBy('first_seen_at', 'desc')) as DbNegotiation[];
    return rows.map(toRow);
  }

  /** What crm-writer reported; an older version's report never overwrites a newer one. */
  async recordCrm(
    memberId: string,
    negotiationId: string,
    version: number,
    outcome:
      | { entityType: 'lead' | 'deal'; entityId: number; hasPdf?: boolean }
      | { error: string; fix: string | null },
  ): Promise<void> {
    const q = this.db('hh_negotiations')
      .where({ member_id: memberId, negotiation_id: negotiationId })
      .where('crm_version', '<=', version);
    if ('entityId' in outcome)
      await q.update({
        entity_type: outcome.entityType,
        entity_id: outcome.entityId,
        crm_status: 'written',
        crm_version: version,
        crm_error: null,
        crm_fix: null,
        crm_has_pdf: outcome.hasPdf ?? false,
      });
    else
      await q.update({
        crm_status: 'failed',
        crm_version: version,
        crm_error: outcome.error,
        crm_fix: outcome.fix,
      });
  }

  // ---- resumes ---------------------------------------------------------------------------

  async getResume(
    memberId: string,
    resumeId: string,
  ): Promise<{ data: KeptResume; updatedAt: string; hasPdf: boolean; pdfDropped: boolean } | undefined> {
    const r = await this.db('hh_resumes')
      .where({ member_id: memberId, resume_id: resumeId })
      .first<{ data: KeptResume; updated_at_hh: string; has_pdf: boolean; pdf_dropped: boolean } | undefined>(
        'data',
        'updated_at_hh',
        this.db.raw('pdf_file is not null as has_pdf'),
        this.db.raw('pdf_file is null and pdf_dropped_at is not null as pdf_dropped'),
      );
    return (
      r && {
        data: r.data,
        updatedAt: r.updated_at_hh,
        hasPdf: Boolean(r.has_pdf),
        pdfDropped: Boolean(r.pdf_dropped),
      }
    );
  }

  async saveResume(memberId: string, data: KeptResume): Promise<void> {
    await this.db('hh_resumes')
      .insert({
        member_id: memberId,
        resume_id: data.id,
        updated_at_hh: data.updatedAt,
        data: JSON.stringify(data),
        pdf_file: null,
        pdf_size: null,
      })
      .onConflict(['member_id', 'resume_id'])
      .merge({
        updated_at_hh: data.updatedAt,
        data: JSON.stringify(data),
        // The old version's file stays in the store until the sweep (dropHeldPdfs) removes it.
        pdf_file: null,
        pdf_size: null,
        pdf_dropped_at: null,
        fetched_at: this.db.fn.now(),
      });
  }

  /** The resume's PDF is the stored file `ref` (FileStore); the file of its previous version goes. */
  async savePdf(memberId: string, resumeId: string, ref: StoredFileRef): Promise<void> {
    await this.db.raw(
      `with old as (
         select pdf_file from hh_resumes where member_id = ? and resume_id = ? for update
       ), saved as (
         update hh_resumes set pdf_file = ?, pdf_size = ?, pdf_dropped_at = null, fetched_at = now()
          where member_id = ? and resume_id = ?
       )
       delete from stored_files
        where member_id = ? and file_key in (select pdf_file from old where pdf_file <> ?)`,
      [memberId, resumeId, ref.key, ref.size, memberId, resumeId, memberId, ref.key],
    );
  }

  /**
   * Drops the PDFs downloaded before `fetchedBefore` whose every negotiation's lead or deal holds
   * the file: the portal has it, and the product needs ours no longer. Also removes stored resume
   * files no resume names any more (an older version's, or a download that failed halfway) once
   * they are an hour old. Idempotent (replicas may run it at once). Returns how many were dropped.
   */
  async dropHeldPdfs(fetchedBefore: Date): Promise<number> {
    const r = await this.db.raw<{ rows: Array<{ dropped: number }> }>(
      `with dropped as (
         update hh_resumes r set pdf_file = null, pdf_size = null, pdf_dropped_at = now()
           from hh_resumes o
          where o.member_id = r.member_id and o.resume_id = r.resume_id
            and r.pdf_file is not null and r.fetched_at < ?
            and exists (select 1 from hh_negotiations n
                         where n.member_id = r.member_id and n.resume_id = r.resume_id)
            and not exists (select 1 from hh_negotiations n
                             where n.member_id = r.member_id and n.resume_id = r.resume_id and not n.crm_has_pdf)
          returning o.member_id, o.pdf_file
       ), gone as (
         delete from stored_files f using dropped d where f.member_id = d.member_id and f.file_key = d.pdf_file
       )
       select count(*)::int as dropped from dropped`,
      [fetchedBefore],
    );
    await this.db.raw(
      `delete from stored_files f
        where f.file_key like 'hh-resume:%' and f.created_at < now() - interval '1 hour'
          and not exists (select 1 from hh_resumes r where r.member_id = f.member_id and r.pdf_file = f.file_key)`,
    );
    return r.rows[0]?.dropped ?? 0;
  }

  /** Where the resume's stored PDF is, or null when there is none. */
  async pdf(memberId: string, resumeId: string): Promise<StoredFileRef | null> {
    const r = await this.db('hh_resumes')
      .where({ member_id: memberId, resume_id: resumeId })
      .first<{ pdf_file: string | null; pdf_size: number | null } | undefined>('pdf_file', 'pdf_size');
    return r?.pdf_file ? { key: r.pdf_file, size: r.pdf_size ?? 0 } : null;
  }

  // ---- people ----------------------------------------------------------------------------

  /**
   * The person these keys belong to (strongest key first), or a new one; every key is then
   * linked to that person. Serialised per portal, so two responses of a new person at once make
   * one person, not two.
   */
  async recognise(trx: Knex.Transaction, memberId: string, keys: string[]): Promise<string> {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`hh-person:${memberId}`]);
    const found = new Map<string, string>(
      (
        (await trx('hh_person_keys').where({ member_id: memberId }).whereIn('key', keys)) as Array<{
          key: string;
          person_id: string;
        }>
      ).map((r) => [r.key, r.person_id]),
    );
    const personId = keys.map((k) => found.get(k)).find(Boolean) ?? randomUUID();
    await trx('hh_person_keys')
      .insert(keys.map((key) => ({ member_id: memberId, key, person_id: personId })))
      .onConflict(['member_id', 'key'])
      .ignore();
    return personId;
  }

  // ---- webhooks --------------------------------------------------------------------------

  /** Records a callback; false when it was already processed (a duplicate). */
  async recordDelivery(d: {
    accountId: string;
    actionType: string;
    callbackId: string;
    memberId: string | null;
    topicId: string | null;
    receivedAt: string;
  }): Promise<boolean> {
    await this.db('hh_webhook_deliveries')
      .insert({
        account_id: d.accountId,
        action_type: d.actionType,
        callback_id: d.callbackId,
        member_id: d.memberId,
        topic_id: d.topicId,
        received_at: d.receivedAt,
      })
      .onConflict(['account_id', 'action_type', 'callback_id'])
      .ignore();
    const row = await this.db('hh_webhook_deliveries')
      .where({ account_id: d.accountId, action_type: d.actionType, callback_id: d.callbackId })
      .first<{ processed_at: Date | null } | undefined>('processed_at');
    return !row?.processed_at;
  }

  /** The callback is done with: its outcome on the delivery and a line in the portal's delivery log. */
  async deliveryDone(
    d: {
      accountId: string;
      actionType: string;
      callbackId: string;
      memberId: string;
      topicId: string | null;
    },
    outcome: string,
  ): Promise<void> {
    await this.db.transaction(async (trx) => {
      await trx('hh_webhook_deliveries')
        .where({ account_id: d.accountId, action_type: d.actionType, callback_id: d.callbackId })
        .update({ processed_at: trx.fn.now(), outcome });
      await this.logEvents(trx, [
        { memberId: d.memberId, source: 'webhook', type: d.actionType, negotiationId: d.topicId, outcome },
      ]);
    });
  }

  // ---- the delivery log and reconciliation passes -----------------------------------------

  async logEvents(
    db: Knex | Knex.Transaction,
    events: Array<{
      memberId: string;
      source: SyncEventView['source'];
      type: string;
      negotiationId: string | null;
      outcome: string;
    }>,
  ): Promise<void> {
    if (events.length === 0) return;
    await db('hh_sync_events').insert(
      events.map((e) => ({
        member_id: e.memberId,
        source: e.source,
        type: e.type.slice(0, 100),
        negotiation_id: e.negotiationId,
        outcome: e.outcome.slice(0, 300),
      })),
    );
  }

  /** The portal's delivery log, newest first, `before` an id (the page's «Показать ещё»). */
  async events(memberId: string, before: number | undefined, limit: number): Promise<SyncEventView[]> {
    const q = this.db('hh_sync_events').where({ member_id: memberId }).orderBy('id', 'desc').limit(limit);
    if (before) q.where('id', '<', before);
    const rows = (await q) as Array<{
      id: string | number;
      at: Date;
      source: SyncEventView['source'];
      type: string;
      negotiation_id: string | null;
      outcome: string;
    }>;
    return rows.map((r) => ({
      id: Number(r.id),
      at: new Date(r.at).toISOString(),
      source: r.source,
      type: r.type,
      negotiationId: r.negotiation_id,
      outcome: r.outcome,
    }));
  }

  /** Forgets log lines older than the retention, a bounded number at a time. */
  async pruneEvents(olderThan: Date, batch = 5000): Promise<number> {
    return this.db('hh_sync_events')
      .whereIn('id', this.db('hh_sync_events').where('at', '<', olderThan).select('id').limit(batch))
      .delete();
  }

  /** A reconciliation pass starts: it compares `vacancies` and counts what it brings in from zero. */
  async startReconciliation(trx: Knex.Transaction, memberId: string, vacancies: number): Promise<void> {
    await trx('hh_reconciliations')
      .insert({ member_id: memberId, started_at: trx.fn.now(), vacancies, found: 0 })
      .onConflict('member_id')
      .merge();
  }

  async lastReconciliation(
    memberId: string,
  ): Promise<{ at: string; vacancies: number; found: number } | null> {
    const r = await this.db('hh_reconciliations')
      .where({ member_id: memberId })
      .first<{ started_at: Date; vacancies: number; found: number } | undefined>();
    return r ? { at: new Date(r.started_at).toISOString(), vacancies: r.vacancies, found: r.found } : null;
  }

  async lastDelivery(
    memberId: string,
  ): Promise<{ at: string; actionType: string; outcome: string | null } | null> {
    const r = await this.db('hh_webhook_deliveries')
      .where({ member_id: memberId })
      .orderBy('received_at', 'desc')
      .first<{ received_at: Date; action_type: string; outcome: string | null } | undefined>(
        'received_at',
        'action_type',
        'outcome',
      );
    return r
      ? { at: new Date(r.received_at).toISOString(), actionType: r.action_type, outcome: r.outcome }
      : null;
  }

  /** Negotiations stored since `since` and in all. */
  async receivedCounts(memberId: string, since: Date): Promise<{ today: number; total: number }> {
    const r = await this.db('hh_negotiations')
      .where({ member_id: memberId })
      .first<{ today: number; total: number } | undefined>(
        this.db.raw('count(*)::int as total'),
        this.db.raw('count(*) filter (where first_seen_at >= ?)::int as today', [since]),
      );
    return { today: r?.today ?? 0, total: r?.total ?? 0 };
  }

  // ---- progress --------------------------------------------------------------------------

  /** The figures of the import's progress bar and result lines, counted from the rows. */
  async progress(memberId: string): Promise<
    Omit<ImportProgress, 'state' | 'pausedReason' | 'startedAt' | 'finishedAt'> & {
      unsettled: number;
      awaitingCrm: number;
    }
  > {
    const imp = await this.getImport(memberId);
    const v = imp
      ? await this.db('hh_vacancies')
          .where({ member_id: memberId, import_run_id: imp.runId })
          .first<{ total: number; done: number }>(
            this.db.raw('count(*)::int as total'),
            this.db.raw(`count(*) filter (where import_state = 'done')::int as done`),
          )
      : { total: 0, done: 0 };
    const n = await this.db('hh_negotiations')
      .where({ member_id: memberId })
      .first<Record<'found' | 'loaded' | 'imported' | 'failed' | 'unsettled' | 'awaiting', number>>(
        this.db.raw('count(*)::int as found'),
        this.db.raw('count(loaded_at)::int as loaded'),
        this.db.raw('count(entity_id)::int as imported'),
        this.db.raw(`count(*) filter (where crm_status = 'failed')::int as failed`),
        this.db.raw(`count(*) filter (where status <> 'ready')::int as unsettled`),
        this.db.raw(
          `count(*) filter (where loaded_at is not null and (crm_status is null or crm_version < version))::int as awaiting`,
        ),
      );
    return {
      vacanciesTotal: v.total,
      vacanciesDone: v.done,
      found: n.found,
      loaded: n.loaded,
      imported: n.imported,
      failed: n.failed,
      unsettled: n.unsettled,
      awaitingCrm: n.awaiting,
    };
  }

  async markFinished(memberId: string, runId: string): Promise<void> {
    await this.db('hh_imports')
      .where({ member_id: memberId, run_id: runId })
      .whereNull('finished_at')
      .update({ finished_at: this.db.fn.now() });
  }

  /**
   * Marks finished every listed import whose work is all done (the condition of the progress bar's
   * end: every vacancy paged, every negotiation ready and answered for by crm-writer), in one
   * statement: the housekeeping asks every few seconds, for every portal importing at once.
   */
  async finishCompleted(): Promise<string[]> {
    const { rows } = await this.db.raw<{ rows: Array<{ member_id: string }> }>(
      `update hh_imports i set finished_at = now()
        where i.finished_at is null and i.listed_at is not null
          and not exists (select 1 from hh_vacancies v
                           where v.member_id = i.member_id and v.import_run_id = i.run_id and v.import_state is distinct from 'done')
          and not exists (select 1 from hh_negotiations n
                           where n.member_id = i.member_id
                             and (n.status <> 'ready' or (n.loaded_at is not null and (n.crm_status is null or n.crm_version < n.version))))
       returning i.member_id`,
    );
    return rows.map((r) => r.member_id);
  }
}
