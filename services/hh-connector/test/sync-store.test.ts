/**
 * The negotiation rows against concurrent writers: a webhook and an import page that bring the
 * same new negotiation at the same moment (the fault matrix met it: the loser's insert failed
 * with a unique violation and its webhook was dead-lettered).
 */
import t from 'tap';
import type { HhNegotiation } from '../src/hh/index.js';
import { type RefusedItem, SyncStore } from '../src/sync/store.js';
import { harness } from './helpers.js';

const ACCOUNT = '00000000-0000-4000-8000-000000000001';

function item(id: string, state: string, updatedAt: string): HhNegotiation {
  return {
    id,
    employer_state: { id: state, name: state },
    state: { id: 'response', name: 'Отклик' },
    updated_at: updatedAt,
    resume: { id: `r${id}`, updated_at: updatedAt },
    actions: [],
  } as unknown as HhNegotiation;
}

t.test(
  'two writers bring the same new negotiation at once: one row, neither fails, the later item kept',
  async (t) => {
    const h = await harness(t);
    const store = new SyncStore(h.db);
    // The first transaction inserts and holds its commit; the second inserts the same id meanwhile.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = h.db.transaction(async (trx) => {
      const need = await store.upsertItems(trx, 'm1', ACCOUNT, 'v1', 'response', [
        item('100', 'response', '2026-01-01T10:00:00+0300'),
      ]);
      await held;
      return need;
    });
    await new Promise((r) => setTimeout(r, 200));
    const second = h.db.transaction((trx) =>
      store.upsertItems(trx, 'm1', ACCOUNT, 'v1', null, [
        item('100', 'phone_interview', '2026-01-01T10:05:00+0300'),
      ]),
    );
    await new Promise((r) => setTimeout(r, 200));
    release();
    const [a, b] = await Promise.all([first, second]);
    t.same(a, ['100'], 'the first writer stored it and asks for a step');
    t.same(b, ['100'], 'the second waited for it, found it changed, and asks for a step too');
    const rows = await h.db('hh_negotiations').where({ member_id: 'm1', negotiation_id: '100' });
    t.equal(rows.length, 1, 'one row');
    t.match(
      rows[0],
      { employer_state_id: 'phone_interview', status: 'pending', item_seq: 2 },
      'the later item won',
    );
  },
);

t.test(
  'an import is marked finished only when every vacancy is paged and every negotiation is ready and written',
  async (t) => {
    const h = await harness(t);
    const store = new SyncStore(h.db);
    const vacancy = (id: string) => ({ id, name: `Вакансия ${id}` }) as never;
    const runs = await h.db.transaction(async (trx) => {
      const ids: Record<string, string> = {};
      for (const m of ['m1', 'm2']) {
        ids[m] = await store.startImport(trx, m, ACCOUNT, `request-${m}`, null, null);
        await store.upsertVacancies(trx, m, ACCOUNT, [vacancy('v1'), vacancy('v2')], ids[m]);
        await store.upsertItems(trx, m, ACCOUNT, 'v1', 'response', [
          item('100', 'response', '2026-01-01T10:00:00+0300'),
        ]);
      }
      return ids;
    });
    const finished = async () =>
      (await h
        .db('hh_imports')
        .whereNotNull('finished_at')
        .orderBy('member_id')
        .pluck('member_id')) as string[];
    t.same(await store.finishCompleted(), [], 'not listed yet');
    await h.db.transaction(async (trx) => {
      for (const m of ['m1', 'm2']) await store.markListed(trx, m, runs[m]!);
    });
    await store.vacancyDone('m1', 'v1', runs['m1']!);
    t.same(await store.finishCompleted(), [], 'a vacancy still to page, a negotiation pending');
    for (const m of ['m1', 'm2']) for (const v of ['v1', 'v2']) await store.vacancyDone(m, v, runs[m]!);
    t.same(await store.finishCompleted(), [], 'every vacancy paged, the negotiation still pending');
    await h.db('hh_negotiations').update({ status: 'ready', loaded_at: h.db.fn.now(), version: 1 });
    t.same(await store.finishCompleted(), [], 'loaded, not yet written to the portal');
    await h
      .db('hh_negotiations')
      .where({ member_id: 'm1' })
      .update({ crm_status: 'written', crm_version: 1 });
    t.same(await store.finishCompleted(), ['m1'], 'written: the first portal’s import is finished');
    t.same(await finished(), ['m1'], 'the other portal’s is not');
    await h.db('hh_negotiations').where({ member_id: 'm2' }).update({ crm_status: 'failed', crm_version: 1 });
    t.same(
      await store.finishCompleted(),
      ['m2'],
      'a write the portal refused is answered for too (it is listed with «Повторить»)',
    );
    t.same(await store.finishCompleted(), [], 'each once');
  },
);

t.test('never backwards: an older item than the one kept is refused, a tie only when asked', async (t) => {
  const h = await harness(t);
  const store = new SyncStore(h.db);
  const upsert = (i: HhNegotiation, options: Parameters<SyncStore['upsertItems']>[6] = {}) =>
    h.db.transaction((trx) => store.upsertItems(trx, 'm1', ACCOUNT, 'v1', null, [i], options));
  await upsert(item('200', 'interview', '2026-01-01T10:00:05+0300'));
  const row = async () =>
    (await h.db('hh_negotiations').where({ member_id: 'm1', negotiation_id: '200' }).first()) as {
      employer_state_id: string;
      item_seq: number;
    };

  const refused: RefusedItem[] = [];
  await upsert(item('200', 'consider', '2026-01-01T10:00:04+0300'), { refused });
  t.match(await row(), { employer_state_id: 'interview', item_seq: 1 }, 'an older answer is not stored');
  t.same(refused, [
    { negotiationId: '200', held: '2026-01-01T10:00:05+0300', read: '2026-01-01T10:00:04+0300', tie: false },
  ]);

  refused.length = 0;
  await upsert(item('200', 'consider', '2026-01-01T10:00:05+0300'), { onTie: 'refuse', refused });
  t.match(await row(), { employer_state_id: 'interview' }, 'as old and different: refused when asked');
  t.match(refused, [{ tie: true }], 'and said to be a tie, to be read again');

  await upsert(item('200', 'consider', '2026-01-01T10:00:05+0300'));
  t.match(await row(), { employer_state_id: 'consider', item_seq: 2 }, 'a tie is taken from a page');

  await upsert(item('200', 'offer', '2026-01-01T10:00:06+0300'), { onTie: 'refuse' });
  t.match(await row(), { employer_state_id: 'offer', item_seq: 3 }, 'a newer answer is stored');
});

t.test(
  "a portal's import window holds however many replicas feed it or hand negotiations over",
  async (t) => {
    const h = await harness(t);
    const store = new SyncStore(h.db);
    const ids = Array.from({ length: 20 }, (_, i) => String(200 + i));
    await h.db.transaction((trx) =>
      store.upsertItems(
        trx,
        'm2',
        ACCOUNT,
        'v1',
        'response',
        ids.map((id) => item(id, 'response', '2026-01-01T10:00:00+0300')),
      ),
    );
    const WINDOW = 6;
    const STALE_MS = 600_000;
    const inFlight = async () =>
      Number(
        (
          await h
            .db('hh_negotiations')
            .where({ member_id: 'm2', status: 'pending' })
            .whereNotNull('queued_at')
            .count<Array<{ n: string }>>({ n: '*' })
        )[0]!.n,
      );
    // Two replicas feed at the same moment, each in its own transaction held open a while.
    const feed = () =>
      h.db.transaction(async (trx) => {
        const taken = await store.takeForSteps(trx, 'm2', WINDOW, STALE_MS);
        await new Promise((r) => setTimeout(r, 200));
        return taken;
      });
    const [a, b] = await Promise.all([feed(), feed()]);
    t.equal(
      a.length + b.length,
      WINDOW,
      `the two feeds took ${a.length} and ${b.length}: the window together`,
    );
    t.equal(await inFlight(), WINDOW, 'the window is full');

    const waiting = ids.find((id) => !a.includes(id) && !b.includes(id))!;
    t.equal(
      await h.db.transaction((trx) => store.queueInWindow(trx, 'm2', waiting, WINDOW, STALE_MS)),
      false,
      'a hand-over of a negotiation not in flight waits while the window is full',
    );
    t.equal(
      await h.db.transaction((trx) => store.queueInWindow(trx, 'm2', a[0] ?? b[0]!, WINDOW, STALE_MS)),
      true,
      'one already in flight is handed over (it takes no more room)',
    );
    t.equal(await inFlight(), WINDOW, 'still the window');
    await h
      .db('hh_negotiations')
      .where({ member_id: 'm2' })
      .whereIn('negotiation_id', [...a, ...b].slice(0, 1))
      .update({ status: 'ready' });
    t.equal(
      await h.db.transaction((trx) => store.queueInWindow(trx, 'm2', waiting, WINDOW, STALE_MS)),
      true,
      'with room again it is queued',
    );
    t.equal(await inFlight(), WINDOW);
  },
);

t.test(
  'a listing kept: its managers replace those kept before, the vacancies it no longer has are inactive; a login that may not list managers keeps those its vacancies name',
  async (t) => {
    const h = await harness(t);
    const store = new SyncStore(h.db);
    const account = { id: ACCOUNT, employerId: 'e1' };
    const manager = (id: string, last: string, email = '') => ({
      id,
      first_name: 'Имя',
      last_name: last,
      middle_name: null,
      email,
      vacancies_count: 1,
    });
    const vacancy = (id: string, managerId: string) =>
      ({
        id,
        name: `Вакансия ${id}`,
        manager: { id: managerId, first_name: 'Имя', last_name: `Фамилия ${managerId}`, middle_name: null },
        area: { id: '1', name: 'Москва' },
      }) as never;
    const keep = (listing: Parameters<SyncStore['keepListing']>[3]) =>
      h.db.transaction((trx) => store.keepListing(trx, 'm1', account, listing));

    await keep({
      vacancies: [vacancy('v1', 'a'), vacancy('v2', 'b')],
      managers: [manager('a', 'Алова', 'a@example.com'), manager('b', 'Белова')],
    });
    t.same(
      (await store.keptManagers('m1', 'e1')).map((m) => [m.manager_id, m.last_name, m.email]),
      [
        ['a', 'Алова', 'a@example.com'],
        ['b', 'Белова', null],
      ],
      'the managers, by name; an empty e-mail is none',
    );
    t.same(
      (await store.activeVacancies('m1')).map((v) => [v.vacancy_id, v.manager_id, v.area_name]),
      [
        ['v1', 'a', 'Москва'],
        ['v2', 'b', 'Москва'],
      ],
    );

    // v2 is archived and b left the employer; c came, and v3 is c's.
    await keep({
      vacancies: [vacancy('v1', 'a'), vacancy('v3', 'c')],
      managers: [manager('a', 'Алова'), manager('c', 'Ветрова')],
    });
    t.same(
      (await store.keptManagers('m1', 'e1')).map((m) => m.manager_id),
      ['a', 'c'],
      'the manager who left is gone',
    );
    t.same(
      (await store.activeVacancies('m1')).map((v) => v.vacancy_id),
      ['v1', 'v3'],
      'the archived vacancy is no longer active',
    );
    t.ok(
      await h.db('hh_vacancies').where({ member_id: 'm1', vacancy_id: 'v2', active: false }).first(),
      'its row stays (its negotiations name it)',
    );

    // A login that may not list the managers: those its vacancies name, without e-mail.
    await keep({ vacancies: [vacancy('v3', 'c'), vacancy('v4', 'c')], managers: null });
    t.same(
      (await store.keptManagers('m1', 'e1')).map((m) => [
        m.manager_id,
        m.last_name,
        m.email,
        m.vacancies_count,
      ]),
      [['c', 'Фамилия c', null, 2]],
    );
    t.same((await store.keptManagers('m2', 'e1')).length, 0, 'another portal keeps its own');
  },
);
