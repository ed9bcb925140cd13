/**
 * The import side of the failure channel with the real services: a response whose resume hh.ru
 * will not give is stored by its webhook, its step fails until it is dead-lettered, and
 * «Состояние» lists it (in words, with its hh.ru link) among the failures; «Повторить» after hh.ru
 * recovers brings it to the portal and clears it; the portal is told once when it failed and once
 * when it cleared. The delivery log pages without gaps or repeats.
 */
import t from 'tap';
import { rpc } from '@hhb24/common';
import { eventually } from '@hhb24/common/testing';
import { World, oneManager } from './world.js';

t.test(
  'a response that could not be loaded is a failure with «Повторить»; the delivery log pages',
  async (t) => {
    const world = await World.forTest(t, {
      generate: oneManager(7),
      // Fail fast: one attempt per hh.ru call, two deliveries per message. Resume PDFs up to 1 MB
      // (the simulated ones are a few KB).
      env: { HH_MAX_ATTEMPTS: '1', CONSUMER_MAX_DELIVER: '2', HH_MAX_PDF_BYTES: '1000000' },
    });
    const { hh, b24 } = world;
    const vacancy = [...hh.sim.store.vacancies.values()][0]!;
    const { memberId: portal } = await world.connectedPortal({
      responsibleUserId: 1,
      entityType: 'lead',
      stageForResponse: 'NEW',
      stageForInvitation: 'IN_PROCESS',
    });
    await world.importAll(portal);
    const leadOf = (id: string) => b24.sim.entities(portal, 'lead').filter((e) => e['ORIGIN_ID'] === id);
    t.same(
      (await world.call(rpc.hhHealth, { memberId: portal })).importFailures,
      [],
      'no failed loads after a clean import',
    );

    // ---- hh.ru will not give the resume ----------------------------------------------------------
    hh.sim.addFault({ kind: 'error', match: '/resumes/', status: 503 });
    const stuck = hh.sim.respond({ vacancyId: vacancy.id });
    const failed = await eventually(
      async () =>
        (await world.call(rpc.hhHealth, { memberId: portal })).importFailures.find(
          (f) => f.negotiationId === stuck.id,
        ),
      { timeoutMs: 30_000, what: 'the failed load on «Состояние»' },
    );
    t.match(
      failed,
      {
        reason: /^hh\.ru (не отдал резюме или его PDF|не отвечал), отклик не загружен/,
        hhUrl: /^https?:\/\//,
      },
      'in words an admin reads, with the response on hh.ru',
    );
    t.equal(leadOf(stuck.id).length, 0, 'nothing written meanwhile');
    const notices = () =>
      b24.sim.notifications(portal).filter((n) => n.tag?.startsWith('hhb24|crm-failures|'));
    await eventually(() => notices().length === 1, {
      timeoutMs: 15_000,
      what: 'the notice that failures started',
    });
    t.match(
      notices()[0],
      {
        userId: 1,
        message:
          /^hh\.ru: не удалось добавить на портал откликов: 1\. Причина: hh\.ru не отдал отклик или резюме\./,
      },
      'a failed load opens an incident too',
    );
    const log = await world.call(rpc.hhSyncEvents, { memberId: portal });
    t.match(
      log.items[0],
      { source: 'webhook', negotiationId: stuck.id, outcome: 'processed' },
      'the webhook itself was handled: its negotiation is stored',
    );

    // ---- hh.ru recovers; «Повторить» ------------------------------------------------------------
    hh.sim.clearFaults();
    t.same(await world.call(rpc.hhRetry, { memberId: portal, id: failed.id }), { retried: 1 });
    await eventually(() => leadOf(stuck.id).length === 1, {
      timeoutMs: 20_000,
      what: 'the lead after «Повторить»',
    });
    t.same((await world.call(rpc.hhHealth, { memberId: portal })).importFailures, [], 'the failure is gone');
    t.same(
      await world.call(rpc.hhRetry, { memberId: portal, id: failed.id }),
      { retried: 0 },
      'a second press finds nothing to send',
    );
    await eventually(() => notices().length === 2, {
      timeoutMs: 15_000,
      what: 'the notice that failures cleared',
    });
    t.match(notices()[1]!.message, /ошибок больше нет/);

    // ---- a resume PDF bigger than HH_MAX_PDF_BYTES ------------------------------------------------
    const big = hh.sim.respond({ vacancyId: vacancy.id });
    const huge = hh.sim.addFault({
      kind: 'huge_body',
      match: `/resumes/${big.resumeId}/download/`,
      bytes: 100_000_000,
    });
    const tooBig = await eventually(
      async () =>
        (await world.call(rpc.hhHealth, { memberId: portal })).importFailures.find(
          (f) => f.negotiationId === big.id,
        ),
      { timeoutMs: 30_000, what: 'the oversized PDF on «Состояние»' },
    );
    t.match(
      tooBig.reason,
      /^hh\.ru прислал ответ больше допустимого размера, отклик не загружен \(hh_answer_too_large: hh\.ru's answer is larger than HH_MAX_PDF_BYTES \(1000000 bytes\)/,
      'the failure names the cap',
    );
    const letter = await world.db('dead_letters').where({ portal }).orderBy('id', 'desc').first();
    t.match(
      letter,
      {
        subject: /hh\.import\.negotiation$/,
        deliveries: 1,
        last_error: /HH_MAX_PDF_BYTES \(1000000 bytes\)/,
      },
      'dead-lettered at the first delivery (a retry would read the same file), naming the cap',
    );
    t.ok(huge.servedBytes < 20_000_000, `${(huge.servedBytes / 1e6).toFixed(1)} MB of the 100 MB were made`);
    t.equal(leadOf(big.id).length, 0, 'nothing written for it');
    hh.sim.clearFaults();
    t.same(await world.call(rpc.hhRetry, { memberId: portal, id: tooBig.id }), { retried: 1 });
    await eventually(() => leadOf(big.id).length === 1, {
      timeoutMs: 20_000,
      what: 'the lead once hh.ru gives a PDF of a normal size',
    });

    // ---- the delivery log pages without gaps or repeats -------------------------------------------
    const more = Array.from({ length: 7 }, () => hh.sim.respond({ vacancyId: vacancy.id }));
    await eventually(() => more.every((n) => leadOf(n.id).length === 1), {
      timeoutMs: 20_000,
      what: 'the responses by webhook',
    });
    const seen: number[] = [];
    let before: number | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await world.call(rpc.hhSyncEvents, {
        memberId: portal,
        limit: 3,
        ...(before ? { before } : {}),
      });
      seen.push(...page.items.map((i) => i.id));
      if (page.next === null) break;
      t.equal(page.items.length, 3, 'a full page before the last');
      before = page.next;
    }
    const all = (await world.call(rpc.hhSyncEvents, { memberId: portal, limit: 100 })).items.map((i) => i.id);
    t.same(seen, all, 'pages of 3 give every line once, newest first');
    t.ok(all.length >= 8, `${all.length} lines`);
    await t.rejects(
      world.call(rpc.hhSyncEvents, { memberId: portal, limit: 1000 }),
      /limit/,
      'a page size out of bounds is refused',
    );
    t.same(
      (await world.call(rpc.hhSyncEvents, { memberId: 'another-portal' })).items,
      [],
      'another portal sees none of it',
    );
  },
);
