import {
  type BatchCommand,
  type Bitrix24Client,
  Bitrix24Error,
  type CrmEntityFailed,
  type CrmEntityWritten,
  type EntityType,
  type Knex,
  type NegotiationSnapshot,
  type PortalLang,
  type PortalSettings,
  PortalGroups,
  type Runtime,
  classifyError,
  enqueue,
  subjects,
  textOf,
} from '@hhb24/common';
import {
  type ContactRef,
  ORIGINATOR_ID,
  type Pdf,
  RESUME_FIELD,
  contactFieldsForAdd,
  fieldsForAdd,
  fieldsForUpdate,
  searchableContacts,
  stageFieldOf,
  stageListOf,
  stageToSet,
  targetStage,
} from './fields.js';
import { type Refusal, refusalOf, stageMissing } from './fixes.js';
import { type ContactOrigin, type Link, type Records, notNewer } from './records.js';

/** Negotiations per group: one batch searches them all, one batch writes them all (≤ 50 commands each). */
const GROUP_MAX = 45;
/** Commands Bitrix24 runs in one batch request; `$result[…]` references work only within one. */
const BATCH_MAX = 50;
/** How long the first write of a group waits for others to join it, while writes stream in (an import). */
const LINGER_MS = 100;
/** A write that finds its portal without writes this long arrived alone and goes at once. */
const IDLE_MS = 2 * LINGER_MS;
/** Locks are kept alive while a group is written; a writer that died frees them this soon. */
const LOCK_MS = 15_000;

export type WriteOutcome =
  /** The entity is written (or already was at this version); the effect is committed. */
  | { kind: 'written' }
  /** The portal refused; the refusal is recorded and announced. */
  | { kind: 'refused' }
  /** Another process is writing this negotiation right now. */
  | { kind: 'busy' }
  /** The portal's budget (or its operating-time limit) says wait; nothing was written. */
  | { kind: 'wait'; delayMs: number; reason: string }
  | { kind: 'error'; error: unknown };

interface Pending {
  snapshot: NegotiationSnapshot;
  settings: PortalSettings;
  pdf: Pdf | null;
  resolve(outcome: WriteOutcome): void;
}

/** One negotiation's part in a group: what exists, what to send, what came of it. */
interface Plan {
  p: Pending;
  /** The portal's language: the texts written (title, comment, placeholders, refusals) are in it. */
  lang: PortalLang;
  link: Link | null;
  /** First recording of this negotiation's entity (an add, or an entity found from an earlier crashed run). */
  firstRecord: boolean;
  stage: string | null;
  /** The entity's stage in the portal now, when it was read. */
  current?: string | null;
  command?: BatchCommand;
  /** An entity that exists and is not yet bound to its person's contact: `crm.{type}.contact.add`. */
  bind?: BatchCommand;
  /** The contact the add or the bind gives the entity. */
  contact?: PersonContact;
  refusal?: Refusal;
}

/**
 * The applicant's contact for the writes of a group: recorded before, found in the portal now
 * (added by an earlier write that did not live to record it, or the portal's own with the same
 * phone or e-mail), or to be added by the write batch (`key`).
 */
interface PersonContact {
  id: number | null;
  origin: ContactOrigin | null;
  /** Recorded in crm_contacts before this group. */
  recorded: boolean;
  /** The batch command that adds it, when it is new. */
  key?: string;
  /** What the writes refer to: the id, or `$result[key]` inside the same batch. */
  ref: ContactRef | null;
}

/**
 * The batch key of a negotiation's write. Not the bare id: a batch runs its commands in the order of
 * its keys, and a number-like key would come before the contacts the write refers to.
 */
const entityKey = (negotiationId: string) => `entity_${negotiationId}`;

/**
 * A write that may give its person a contact: contacts are made for deals (a lead is bound only to
 * a contact the person already has), once per person, and an entity already bound needs none.
 */
const seeksContact = (x: Plan): boolean =>
  x.p.settings.entityType === 'deal' &&
  (x.link === null || (x.link.entityType === 'deal' && x.link.contactId === null));

export interface WriterDeps {
  runtime: Runtime;
  b24: () => Bitrix24Client;
  records: Records;
  maxBatchBytes: number;
  maxWaitMs: number;
}

/**
 * Writes negotiations to their portals, exactly one lead or deal each, at the portal's pace.
 * Writes for one portal that arrive together form a group: under a per-negotiation Redis lock,
 * one batch request searches the portal for entities of the group (ORIGINATOR_ID + ORIGIN_ID,
 * which finds an entity created before a crash that kept us from recording it) and reads the
 * stages of those that may move; a second batch adds the new ones (resume file included) and
 * updates the others. The link table (unique per portal and negotiation) records the results
 * and the outbox announces them, in one transaction.
 */
export class Writer {
  private readonly groups: PortalGroups<Pending>;

  constructor(private readonly d: WriterDeps) {
    this.groups = new PortalGroups<Pending>({
      lingerMs: LINGER_MS,
      idleMs: IDLE_MS,
      maxItems: GROUP_MAX,
      key: (p) => p.snapshot.negotiationId,
      // A write's fields, and its resume file as base64 in the request body (URL-encoded: ≈ 1.1 ×).
      size: (p) => 4096 + Math.ceil((p.pdf?.file.base64Length ?? 0) * 1.1),
      maxBytes: d.maxBatchBytes,
      run: (memberId, group) => this.writeGroup(memberId, group),
      fail: (group, error) => group.forEach((p) => p.resolve({ kind: 'error', error })),
    });
  }

  submit(snapshot: NegotiationSnapshot, settings: PortalSettings, pdf: Pdf | null): Promise<WriteOutcome> {
    return new Promise((resolve) => this.groups.add(snapshot.memberId, { snapshot, settings, pdf, resolve }));
  }

  private async writeGroup(memberId: string, pending: Pending[]): Promise<void> {
    const leases = await Promise.all(
      pending.map((p) =>
        this.d.runtime.locks.acquire(`crm:${memberId}:${p.snapshot.negotiationId}`, LOCK_MS),
      ),
    );
    // A person's contact is added by one writer at a time: the people of deal writes are locked too.
    const people = [
      ...new Set(
        pending
          .filter((p, i) => leases[i] && p.settings.entityType === 'deal')
          .map((p) => p.snapshot.personId),
      ),
    ];
    const personLeases = await Promise.all(
      people.map((person) => this.d.runtime.locks.acquire(`crm:person:${memberId}:${person}`, LOCK_MS)),
    );
    const busyPeople = new Set(people.filter((_, i) => !personLeases[i]));
    const allLeases = [...leases, ...personLeases];
    const held: Pending[] = [];
    pending.forEach((p, i) =>
      leases[i] && !busyPeople.has(p.snapshot.personId) ? held.push(p) : p.resolve({ kind: 'busy' }),
    );
    const keepAlive = setInterval(
      () => allLeases.forEach((l) => void l?.extend(LOCK_MS).catch(() => false)),
      LOCK_MS / 3,
    );
    try {
      if (held.length > 0) await this.write(memberId, held);
    } finally {
      clearInterval(keepAlive);
      await Promise.all(allLeases.flatMap((l) => (l ? [l.release().catch(() => false)] : [])));
    }
  }

  private async write(memberId: string, pending: Pending[]): Promise<void> {
    const b24 = this.d.b24();
    const wait = { maxWaitMs: this.d.maxWaitMs };
    // Read under the locks: a write that finished meanwhile is seen.
    const links = await this.d.records.links(
      memberId,
      pending.map((p) => p.snapshot.negotiationId),
    );
    const lang = await b24.store.language(memberId);
    const plans: Plan[] = [];
    for (const p of pending) {
      const link = links.get(p.snapshot.negotiationId) ?? null;
      const held = notNewer(link, p.snapshot);
      if (held === 'hh')
        this.d.runtime.log.info(
          {
            memberId,
            negotiationId: p.snapshot.negotiationId,
            version: p.snapshot.version,
            held: link!.hhUpdatedAt,
            read: p.snapshot.updatedAt,
          },
          'a snapshot older on hh.ru than the one written: not written',
        );
      if (held) p.resolve({ kind: 'written' });
      else plans.push({ p, lang, link, firstRecord: !link, stage: null });
    }
    if (plans.length === 0) return;
    try {
      const recorded = await this.d.records.contactsOf(
        memberId,
        plans.map((x) => x.p.snapshot.personId),
      );
      const { stages, found } = await this.findExisting(memberId, plans, recorded, b24, wait);
      const contacts = this.contactsFor(plans, recorded, found);
      // New contacts go in the write batch, the writes refer to them by `$result[…]`; when the
      // whole would not fit one batch, the contacts are added first.
      const adds = this.contactAdds(plans, contacts);
      let sent: { results: Record<string, unknown>; errors: Record<string, Bitrix24Error> } = {
        results: {},
        errors: {},
      };
      const binds = plans.filter(
        (x) => x.link && x.link.contactId === null && contacts.get(x.p.snapshot.personId)?.ref != null,
      ).length;
      if (adds.length > 0 && adds.length + plans.length + binds > BATCH_MAX) {
        sent = await b24.batch(memberId, Object.fromEntries(adds), wait);
        for (const c of contacts.values())
          if (c.key) c.ref = sent.errors[c.key] ? null : Number(sent.results[c.key]);
        adds.length = 0;
      }
      this.planCommands(plans, stages, contacts);
      const batch: Array<[string, BatchCommand]> = [...adds];
      for (const x of plans) {
        if (x.command) batch.push([entityKey(x.p.snapshot.negotiationId), x.command]);
        if (x.bind) batch.push([`bind_${x.p.snapshot.negotiationId}`, x.bind]);
      }
      const answer =
        batch.length > 0
          ? await b24.batch(memberId, Object.fromEntries(batch), wait)
          : { results: {}, errors: {} };
      await this.record(
        plans,
        contacts,
        { ...sent.results, ...answer.results },
        { ...sent.errors, ...answer.errors },
      );
    } catch (err) {
      const e = classifyError(err);
      if (e.wait)
        return plans.forEach((x) =>
          x.p.resolve({ kind: 'wait', delayMs: e.retryAfterMs ?? 1000, reason: e.message }),
        );
      if (err instanceof Bitrix24Error && !e.retryable) {
        // The portal refused the request itself (access, a revoked install): every write of the group is refused.
        return this.record(
          plans.map((x) => ({
            ...x,
            command: undefined,
            refusal: refusalOf(err, x.p.settings.entityType, x.lang),
          })),
          new Map(),
          {},
          {},
        );
      }
      plans.forEach((x) => x.p.resolve({ kind: 'error', error: err }));
    }
  }

  /**
   * Before any add: the portal is searched for entities of these negotiations (an earlier run may
   * have created one and crashed before recording it). Updates that may move a stage read the
   * entity's current stage in the same batch, and the stages of the pipelines concerned come along
   * (fresh each time: a stage deleted on the portal is seen at once). Returns those stages, in order.
   */
  private async findExisting(
    memberId: string,
    plans: Plan[],
    recorded: Map<string, number>,
    b24: Bitrix24Client,
    wait: { maxWaitMs: number },
  ): Promise<{
    stages: Map<string, Map<string, number>>;
    found: Map<string, { id: number; origin: ContactOrigin }>;
  }> {
    const adds = plans.filter((x) => !x.link).map((x) => x.p.snapshot.negotiationId);
    const moving = plans.filter((x) => x.link && this.mayMove(x));
    const lists = new Set([
      ...plans
        .filter((x) => !x.link)
        .map((x) => stageListOf(x.p.settings.entityType, x.p.settings.categoryId)),
      ...moving.map((x) => stageListOf(x.link!.entityType, x.link!.categoryId)),
    ]);
    const commands: Record<string, BatchCommand> = {};
    for (const list of lists)
      commands[`stages_${list}`] = [
        'crm.status.list',
        { filter: { ENTITY_ID: list }, order: { SORT: 'ASC' } },
      ];
    if (adds.length > 0) {
      const filter = { '=ORIGINATOR_ID': ORIGINATOR_ID, '@ORIGIN_ID': adds };
      commands['lead'] = [
        'crm.lead.list',
        { filter, select: ['ID', 'ORIGIN_ID', 'STATUS_ID', RESUME_FIELD], order: { ID: 'ASC' } },
      ];
      commands['deal'] = [
        'crm.deal.list',
        {
          filter,
          select: ['ID', 'ORIGIN_ID', 'STAGE_ID', 'CATEGORY_ID', RESUME_FIELD],
          order: { ID: 'ASC' },
        },
      ];
    }
    for (const type of ['lead', 'deal'] as const) {
      const ids = moving.filter((x) => x.link!.entityType === type).map((x) => x.link!.entityId);
      if (ids.length > 0)
        commands[`${type}Stages`] = [
          `crm.${type}.list`,
          { filter: { '@ID': ids }, select: ['ID', stageFieldOf(type)] },
        ];
    }
    // The people who may get a contact now: the app's contact of an earlier write that did not
    // live to record it (ORIGIN_ID is the person), else the portal's own with the same phone or e-mail.
    const seekers = new Map<string, Plan>();
    for (const x of plans) {
      const person = x.p.snapshot.personId;
      if (seeksContact(x) && !recorded.has(person) && !seekers.has(person)) seekers.set(person, x);
    }
    const seeking = [...seekers.values()];
    if (seeking.length > 0)
      commands['contacts'] = [
        'crm.contact.list',
        {
          filter: { '=ORIGINATOR_ID': ORIGINATOR_ID, '@ORIGIN_ID': [...seekers.keys()] },
          select: ['ID', 'ORIGIN_ID'],
          order: { ID: 'ASC' },
        },
      ];
    const duplicateKeys = new Set<string>();
    seeking.forEach((x, i) => {
      if (x.p.settings.reuseContacts === false) return;
      const { phones, email } = searchableContacts(x.p.snapshot);
      const search = (key: string, type: 'PHONE' | 'EMAIL', values: string[]) => {
        commands[key] = ['crm.duplicate.findbycomm', { entity_type: 'CONTACT', type, values }];
        duplicateKeys.add(key);
      };
      if (phones.length > 0) search(`dupPhone_${i}`, 'PHONE', phones);
      if (email) search(`dupEmail_${i}`, 'EMAIL', [email]);
    });
    const stages = new Map<string, Map<string, number>>();
    const found = new Map<string, { id: number; origin: ContactOrigin }>();
    if (Object.keys(commands).length === 0) return { stages, found };
    const answer = await b24.batch(memberId, commands, wait);
    const failed = Object.entries(answer.errors).find(([key]) => !duplicateKeys.has(key))?.[1];
    if (failed) throw failed;
    for (const [key, error] of Object.entries(answer.errors))
      this.d.runtime.log.warn(
        { memberId, code: error.code, message: error.message },
        `the portal's duplicate search failed (${key}): a new contact is added`,
      );
    for (const list of lists) {
      type Status = { STATUS_ID: string; SORT: string | number };
      // More than a page of stages (50) is rare: the rest is read page by page.
      const rows =
        answer.nexts[`stages_${list}`] !== undefined
          ? await b24.listAll<Status>(
              memberId,
              'crm.status.list',
              { filter: { ENTITY_ID: list }, order: { SORT: 'ASC' } },
              wait,
            )
          : ((answer.results[`stages_${list}`] ?? []) as Status[]);
      stages.set(list, new Map(rows.map((r) => [r.STATUS_ID, Number(r.SORT)])));
    }
    for (const type of ['lead', 'deal'] as const) {
      for (const row of (answer.results[type] ?? []) as Array<Record<string, unknown>>) {
        const plan = plans.find((x) => !x.link && x.p.snapshot.negotiationId === String(row['ORIGIN_ID']));
        if (!plan) continue;
        // Created by an earlier write that did not live to record it: recorded now, updated below.
        plan.link = {
          memberId,
          negotiationId: plan.p.snapshot.negotiationId,
          entityType: type,
          entityId: Number(row['ID']),
          categoryId: Number(row['CATEGORY_ID'] ?? 0),
          version: 0,
          stageId: textOf(row[stageFieldOf(type)]) || null,
          hasPdf: Boolean(row[RESUME_FIELD]),
          hhUpdatedAt: null,
          contactId: null,
        };
        plan.current = plan.link.stageId;
      }
      for (const row of (answer.results[`${type}Stages`] ?? []) as Array<Record<string, unknown>>) {
        const plan = moving.find(
          (x) => x.link!.entityType === type && x.link!.entityId === Number(row['ID']),
        );
        if (plan) plan.current = textOf(row[stageFieldOf(type)]) || null;
      }
    }
    for (const row of (answer.results['contacts'] ?? []) as Array<Record<string, unknown>>) {
      const person = textOf(row['ORIGIN_ID']);
      if (seekers.has(person) && !found.has(person))
        found.set(person, { id: Number(row['ID']), origin: 'created' });
    }
    const oldest = (result: unknown): number | null => {
      const ids =
        result && typeof result === 'object' && !Array.isArray(result)
          ? (result as { CONTACT?: unknown }).CONTACT
          : undefined;
      const list = Array.isArray(ids) ? ids.map(Number).filter((id) => id > 0) : [];
      return list.length > 0 ? Math.min(...list) : null;
    };
    seeking.forEach((x, i) => {
      const person = x.p.snapshot.personId;
      if (found.has(person)) return;
      const id = oldest(answer.results[`dupPhone_${i}`]) ?? oldest(answer.results[`dupEmail_${i}`]);
      if (id !== null) found.set(person, { id, origin: 'found' });
    });
    return { stages, found };
  }

  /** Each person's contact as far as it is known before the writes. */
  private contactsFor(
    plans: Plan[],
    recorded: Map<string, number>,
    found: Map<string, { id: number; origin: ContactOrigin }>,
  ): Map<string, PersonContact> {
    const contacts = new Map<string, PersonContact>();
    for (const x of plans) {
      const person = x.p.snapshot.personId;
      const id = recorded.get(person) ?? found.get(person)?.id ?? null;
      contacts.set(person, {
        id,
        origin: found.get(person)?.origin ?? null,
        recorded: recorded.has(person),
        ref: id,
      });
    }
    return contacts;
  }

  /** `crm.contact.add` for each person of a deal write who has no contact yet, from their first write. */
  private contactAdds(plans: Plan[], contacts: Map<string, PersonContact>): Array<[string, BatchCommand]> {
    const adds: Array<[string, BatchCommand]> = [];
    for (const x of plans) {
      const c = contacts.get(x.p.snapshot.personId)!;
      if (c.ref !== null || !seeksContact(x)) continue;
      c.key = `contact_${adds.length}`;
      c.ref = `$result[${c.key}]`;
      c.origin = 'created';
      adds.push([
        c.key,
        [
          'crm.contact.add',
          {
            fields: contactFieldsForAdd(x.p.snapshot, x.p.settings, x.lang),
            params: { REGISTER_SONET_EVENT: 'N' },
          },
        ],
      ]);
    }
    return adds;
  }

  /** An existing entity may change stage: extended mode, same entity type and pipeline, and the mapped stage is not the one we set. */
  private mayMove(x: Plan): boolean {
    const { settings, snapshot } = x.p;
    const link = x.link!;
    if (!settings.extendedSync || link.entityType !== settings.entityType) return false;
    if (link.entityType === 'deal' && link.categoryId !== settings.categoryId) return false;
    return targetStage(snapshot, settings) !== link.stageId;
  }

  private planCommands(
    plans: Plan[],
    stages: Map<string, Map<string, number>>,
    contacts: Map<string, PersonContact>,
  ): void {
    for (const x of plans) {
      const { snapshot, settings, pdf } = x.p;
      const params = { REGISTER_SONET_EVENT: 'N' };
      const contact = contacts.get(snapshot.personId);
      if (x.link) {
        if (x.link.contactId === null && contact?.ref != null) {
          x.contact = contact;
          x.bind = [
            `crm.${x.link.entityType}.contact.add`,
            { id: x.link.entityId, fields: { CONTACT_ID: contact.ref } },
          ];
        }
        let stage: string | null = null;
        if (this.mayMove(x)) {
          const order =
            stages.get(stageListOf(x.link.entityType, x.link.categoryId)) ?? new Map<string, number>();
          stage = stageToSet({
            target: targetStage(snapshot, settings),
            current: x.current === undefined ? x.link.stageId : x.current,
            ourLast: x.link.stageId,
            order,
          });
        }
        x.stage = stage ?? x.link.stageId;
        const file = x.link.hasPdf ? null : pdf;
        x.command = [
          `crm.${x.link.entityType}.update`,
          { id: x.link.entityId, fields: fieldsForUpdate(snapshot, x.link.entityType, stage, file), params },
        ];
        continue;
      }
      const stage = targetStage(snapshot, settings);
      if (!stages.get(stageListOf(settings.entityType, settings.categoryId))?.has(stage)) {
        x.refusal = stageMissing(stage, x.lang);
        continue;
      }
      x.stage = stage;
      if (contact?.ref != null) x.contact = contact;
      x.command = [
        `crm.${settings.entityType}.add`,
        { fields: fieldsForAdd(snapshot, settings, stage, pdf, x.lang, contact?.ref ?? null), params },
      ];
    }
  }

  /** Links, refusals and their announcements for the group, in one transaction; then each writer hears its outcome. */
  private async record(
    plans: Plan[],
    contacts: Map<string, PersonContact>,
    results: Record<string, unknown>,
    errors: Record<string, Bitrix24Error>,
  ): Promise<void> {
    const outcomes = new Map<Plan, WriteOutcome>();
    const written: Array<'created' | 'updated'> = [];
    /** The contact's id once the batch ran: null when its add failed. */
    const idOf = (c: PersonContact): number | null => {
      if (!c.key) return c.id;
      const id = Number(results[c.key]);
      return errors[c.key] || !(id > 0) ? null : id;
    };
    const memberId = plans[0]?.p.snapshot.memberId;
    for (const c of contacts.values()) {
      const error = c.key ? errors[c.key] : undefined;
      if (error)
        this.d.runtime.log.warn(
          { memberId, code: error.code, message: error.message },
          'the portal refused a contact: the deal is written without it, the next write tries again',
        );
    }
    await this.d.runtime.db.transaction(async (trx) => {
      written.length = 0;
      for (const [person, c] of contacts) {
        const id = idOf(c);
        if (!c.recorded && id !== null)
          await this.d.records.saveContact(trx, memberId!, person, id, c.origin ?? 'created');
      }
      for (const x of plans) {
        const { snapshot, settings, pdf } = x.p;
        const key = snapshot.negotiationId;
        const err = errors[entityKey(key)];
        if (x.refusal || (err && !err.wait && !err.retryable)) {
          const type: EntityType = x.link?.entityType ?? settings.entityType;
          const refusal = x.refusal ?? refusalOf(err!, type, x.lang);
          if (refusal.code === 'entity_deleted') await this.d.records.dropLink(trx, snapshot.memberId, key);
          await this.refuse(trx, snapshot, refusal);
          outcomes.set(x, { kind: 'refused' });
        } else if (err) {
          outcomes.set(
            x,
            err.wait
              ? { kind: 'wait', delayMs: err.retryAfterMs ?? 1000, reason: err.message }
              : { kind: 'error', error: err },
          );
        } else if (x.command) {
          const added = x.link === null;
          const bound = x.contact && !errors[`bind_${key}`] ? idOf(x.contact) : null;
          const link: Link = added
            ? {
                memberId: snapshot.memberId,
                negotiationId: key,
                entityType: settings.entityType,
                entityId: Number(results[entityKey(key)]),
                categoryId: settings.entityType === 'deal' ? settings.categoryId : 0,
                version: snapshot.version,
                stageId: x.stage,
                hasPdf: Boolean(pdf),
                hhUpdatedAt: snapshot.updatedAt,
                contactId: bound,
              }
            : {
                ...x.link!,
                version: snapshot.version,
                stageId: x.stage,
                hasPdf: x.link!.hasPdf || Boolean(pdf),
                hhUpdatedAt: snapshot.updatedAt,
                contactId: x.link!.contactId ?? bound,
              };
          await this.d.records.saveLink(trx, link);
          await this.d.records.clearFailure(trx, snapshot.memberId, key);
          await this.d.records.count(trx, snapshot.memberId, added ? 'created' : 'updated');
          written.push(added ? 'created' : 'updated');
          await enqueue(trx, {
            subject: subjects.crmEntityWritten,
            // With the account, as the snapshot's own id (versions start again after an erasure).
            msgId: `written:${snapshot.memberId}:${snapshot.accountId}:${key}:${snapshot.version}`,
            payload: {
              memberId: snapshot.memberId,
              negotiationId: key,
              version: snapshot.version,
              entityType: link.entityType,
              entityId: link.entityId,
              created: x.firstRecord,
              snapshot,
              hasPdf: link.hasPdf,
            } satisfies CrmEntityWritten,
          });
          outcomes.set(x, { kind: 'written' });
        }
      }
    });
    this.d.runtime.wakeOutbox();
    const m = this.d.runtime.metrics;
    for (const outcome of written) m.syncOutcomes.inc({ stage: 'write', outcome });
    if (written.length > 0) m.lastSuccess.set({ stage: 'write' }, Date.now() / 1000);
    for (const x of plans) x.p.resolve(outcomes.get(x) ?? { kind: 'error', error: new Error('no outcome') });
  }

  /** Keeps a refusal (with the snapshot, for «Повторить») and announces it. */
  async refuse(trx: Knex.Transaction, snapshot: NegotiationSnapshot, refusal: Refusal): Promise<void> {
    await this.d.records.saveFailure(trx, snapshot, refusal);
    await this.d.records.count(trx, snapshot.memberId, 'refused');
    this.d.runtime.metrics.syncOutcomes.inc({ stage: 'write', outcome: 'refused' });
    await enqueue(trx, {
      subject: subjects.crmEntityFailed,
      msgId: `failed:${snapshot.memberId}:${snapshot.negotiationId}:${snapshot.version}:${Date.now()}`,
      payload: {
        memberId: snapshot.memberId,
        negotiationId: snapshot.negotiationId,
        version: snapshot.version,
        code: refusal.code,
        message: refusal.message,
        fix: refusal.fix,
        at: new Date().toISOString(),
      } satisfies CrmEntityFailed,
    });
    this.d.runtime.log.warn(
      { memberId: snapshot.memberId, negotiationId: snapshot.negotiationId, code: refusal.code },
      'the portal refused a write; kept for retry',
    );
  }
}
