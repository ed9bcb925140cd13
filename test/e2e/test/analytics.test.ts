/**
 * «Аналитика» with the real services, in a browser inside the simulated portal. Ten days of hiring
 * are played on the simulated hh.ru (its clock set back, then forward step by step): responses and
 * invitations on two managers' vacancies, moves through the funnel, refusals with and without a
 * message, responses left untouched. Our sync stores them as it always does (webhooks, reads);
 * every number the tab shows is then compared with a count made from hh.ru's own event log and
 * state, and one CSV file is downloaded and read.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import t from 'tap';
import type { FrameLocator, Page } from 'playwright-core';
import { eventually } from '@hhb24/common/testing';
import type { LoggedEvent } from '@hhb24/sim-hh';
import { browser, importAndWait, installAndConnect, screenshot, startStack, workers } from './stack.js';
import { oneManager } from './world.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** The funnel's steps as the tab counts them (hh-connector's FUNNEL). */
const STEP: Record<string, number> = {
  response: 0,
  consider: 1,
  phone_interview: 1,
  assessment: 1,
  interview: 2,
  offer: 3,
  hired: 4,
};
const cells = async (app: FrameLocator, selector: string) =>
  (await app.locator(selector).allTextContents()).map((s) => s.replace(/\s+/g, ' ').trim());

/** percentile_cont: linear between the two nearest ranks. */
function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return Math.round(sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo));
}

if (!existsSync('/usr/bin/chromium')) {
  t.fail(
    '/usr/bin/chromium is missing: install Debian’s chromium (apt-get install -y chromium; .ci/run does it)',
  );
} else {
  t.test(
    '«Аналитика»: every figure equals a count made from hh.ru’s own event log',
    { timeout: 300_000 },
    async (t) => {
      const stack = await startStack(t, {
        hh: 'real',
        generate: oneManager(22, { managersPerEmployer: 2, negotiations: 0 }),
        build: workers('hh-connector', 'crm-writer'),
      });
      const { sim } = stack.b24;
      const hh = stack.hh.sim;
      const db = stack.services.at(-1)!.runtime.db;
      const b = await browser(t);
      const page: Page = await b.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
      const portal = sim.createPortal({ name: 'analytics', lang: 'ru' });
      const app = await installAndConnect(page, stack, 'analytics', 0);
      await app.locator('[data-testid=tab][data-tab=settings]').click();
      await app.getByTestId('settings-form').waitFor();
      await app.getByTestId('responsible').selectOption('1');
      await importAndWait(app);

      const [vA, vB] = [...hh.store.vacancies.values()];
      const managerOf = (vacancyId: string) =>
        hh.store.managers.get(hh.store.vacancies.get(vacancyId)!.managerId)!;
      const since = hh.events().at(-1)?.seq ?? 0;

      /** Waits until our store holds each negotiation in its state on hh.ru (so every state is in our history). */
      const synced = async (ids: string[]) =>
        eventually(
          async () => {
            const rows = await db('hh_negotiations')
              .where({ member_id: portal.memberId })
              .whereIn('negotiation_id', ids)
              .select<Array<{ negotiation_id: string; state: string | null }>>(
                'negotiation_id',
                db.raw(`snapshot->'state'->>'id' as state`),
              );
            return (
              rows.length === ids.length &&
              rows.every((r) => r.state === hh.store.negotiations.get(r.negotiation_id)!.employerState)
            );
          },
          {
            timeoutMs: 60_000,
            intervalMs: 300,
            what: `our store to hold ${ids.join(', ')} as hh.ru has them`,
          },
        );

      // ---- ten days of hiring on hh.ru ----------------------------------------------------------------
      hh.clock.advance(-10 * DAY);
      let clock = -10 * DAY;
      const at = (offset: number) => {
        hh.clock.advance(offset - clock);
        clock = offset;
      };
      const a = Array.from({ length: 6 }, () => hh.respond({ vacancyId: vA!.id }).id);
      const bb = Array.from({ length: 4 }, () => hh.respond({ vacancyId: vB!.id }).id);
      const invA = hh.invite({ vacancyId: vA!.id }).id;
      const invB = hh.invite({ vacancyId: vB!.id, employerState: 'interview' }).id;
      await synced([...a, ...bb, invA, invB]);
      at(-10 * DAY + 2 * HOUR);
      hh.move(a[0]!, 'consider');
      hh.move(a[1]!, 'phone_interview');
      hh.move(a[2]!, 'discard_by_employer');
      hh.move(bb[0]!, 'discard_by_employer', {
        message: 'Спасибо за отклик, но мы выбрали другого кандидата',
      });
      await synced([a[0]!, a[1]!, a[2]!, bb[0]!]);
      at(-9 * DAY + 5 * HOUR);
      hh.move(a[0]!, 'interview');
      hh.move(a[1]!, 'discard_by_employer', { message: 'К сожалению, нет' });
      hh.move(bb[1]!, 'consider');
      hh.move(invA, 'interview');
      await synced([a[0]!, a[1]!, bb[1]!, invA]);
      at(-8 * DAY);
      hh.move(a[0]!, 'offer');
      hh.move(invB, 'discard_by_employer');
      await synced([a[0]!, invB]);
      at(-7 * DAY + 3 * HOUR);
      hh.move(a[0]!, 'hired');
      await synced([a[0]!]);
      at(-5 * DAY);
      const b5 = hh.respond({ vacancyId: vB!.id }).id;
      at(-2 * DAY);
      const a7 = hh.respond({ vacancyId: vA!.id }).id;
      at(0);
      const a8 = hh.respond({ vacancyId: vA!.id }).id;
      await synced([b5, a7, a8]);
      await eventually(
        async () =>
          (
            await db('hh_negotiations')
              .where({ member_id: portal.memberId })
              .whereNull('entity_id')
              .count({ n: '*' })
          )[0]!.n === '0',
        { timeoutMs: 60_000, what: 'every response on the portal' },
      );

      // ---- the count from hh.ru's own event log --------------------------------------------------------
      const events = hh.events(since);
      const created = events.filter(
        (e): e is Extract<LoggedEvent, { type: 'negotiation.created' }> => e.type === 'negotiation.created',
      );
      const moves = events.filter(
        (e): e is Extract<LoggedEvent, { type: 'negotiation.moved' }> => e.type === 'negotiation.moved',
      );
      const now = Date.now();
      const expected = created.map((c) => {
        const own = moves.filter((m) => m.negotiationId === c.negotiationId);
        const current = hh.store.negotiations.get(c.negotiationId)!;
        const states = [own[0]?.from ?? current.employerState, ...own.map((m) => m.to)];
        const reached = Math.max(...states.map((s) => STEP[s] ?? -1));
        const sec = (iso: string) => Math.floor(Date.parse(iso) / 1000);
        return {
          id: c.negotiationId,
          vacancyId: c.vacancyId,
          response: c.initiator === 'applicant',
          createdAt: Date.parse(c.at),
          reached,
          moveSec: c.initiator === 'applicant' && own[0] ? sec(own[0].at) - sec(c.at) : null,
          refused: current.employerState.startsWith('discard'),
          silent: current.employerState.startsWith('discard') && current.state !== 'discard',
          untouched: c.initiator === 'applicant' && own.length === 0,
        };
      });
      t.equal(expected.length, 15, 'fifteen negotiations played');

      // ---- the tab -------------------------------------------------------------------------------------
      await app.locator('[data-testid=tab][data-tab=analytics]').click();
      await app.getByTestId('analytics-panel').waitFor();

      const nameOf = (id: string) => hh.store.vacancies.get(id)!.name;
      /** A funnel row as the tab shows it: each step's count, the conversion from the step before, the refusals. */
      const funnelOf = async (vacancy: string) => {
        const row = app.locator(`[data-testid=analytics-funnel-row][data-vacancy="${vacancy}"]`);
        return {
          steps: await row
            .locator('[data-testid=funnel-step]')
            .evaluateAll((tds) => tds.map((td) => td.firstChild?.textContent?.trim())),
          conversions: await cells(
            app,
            `[data-testid=analytics-funnel-row][data-vacancy="${vacancy}"] [data-testid=funnel-conversion]`,
          ),
          refused: (await row.getByTestId('funnel-refused').textContent())?.trim(),
        };
      };
      const counted = (list: typeof expected) => {
        const steps = [0, 1, 2, 3, 4].map((k) => list.filter((e) => e.reached >= k).length);
        return {
          steps: steps.map(String),
          conversions: steps
            .slice(1)
            .map((n, i) => (steps[i]! > 0 ? `${Math.round((n / steps[i]!) * 1000) / 10} %` : '—')),
          refused: String(list.filter((e) => e.refused).length),
        };
      };
      t.same(await funnelOf('all'), counted(expected), 'the funnel for all: counts, conversions, refusals');
      for (const v of [vA!, vB!])
        t.same(
          await funnelOf(v.name),
          counted(expected.filter((e) => e.vacancyId === v.id)),
          `the funnel of «${v.name}»`,
        );

      // Responses and invitations of the period, per vacancy.
      for (const v of [vA!, vB!]) {
        const mine = expected.filter((e) => e.vacancyId === v.id);
        t.same(
          await cells(app, `[data-testid=analytics-time-vacancy][data-name="${v.name}"] td`),
          [String(mine.filter((e) => e.response).length), String(mine.filter((e) => !e.response).length)],
          `responses and invitations of «${v.name}»`,
        );
      }
      t.same(
        await cells(app, '[data-testid=analytics-time-total] td'),
        [
          String(expected.filter((e) => e.response).length),
          String(expected.filter((e) => !e.response).length),
        ],
        'the totals',
      );

      // Speed: median and 90th percentile per vacancy and per hh.ru manager.
      const timed = (list: typeof expected) =>
        list
          .filter((e) => e.moveSec !== null)
          .map((e) => e.moveSec!)
          .sort((x, y) => x - y);
      for (const v of [vA!, vB!]) {
        const mine = expected.filter((e) => e.vacancyId === v.id && e.response);
        const row = app.locator(`[data-testid=analytics-speed-row][data-name="${v.name}"]`);
        const secs = await row
          .locator('td[data-sec]')
          .evaluateAll((tds) => tds.map((td) => td.getAttribute('data-sec')));
        t.same(
          secs,
          [percentile(timed(mine), 0.5), percentile(timed(mine), 0.9)].map((s) =>
            s === null ? '' : String(s),
          ),
          `median and 90th percentile of «${v.name}»`,
        );
        const m = managerOf(v.id);
        const managerRow = app.locator(
          `[data-testid=analytics-manager-row][data-name="${m.lastName} ${m.firstName}"]`,
        );
        t.same(
          (await managerRow.locator('td').allTextContents()).slice(0, 2),
          [String(mine.length), String(timed(mine).length)],
          `responses and moved ones of ${m.lastName} ${m.firstName}`,
        );
      }

      // Untouched responses after 1, 3 and 7 days, each with its lead.
      const untouched = expected.filter((e) => e.untouched);
      for (const d of [1, 3, 7])
        t.equal(
          await app.getByTestId(`untouched-${d}`).textContent(),
          String(untouched.filter((e) => e.createdAt < now - d * DAY).length),
          `untouched after ${d} days`,
        );
      const listed = await app
        .locator('[data-testid=untouched-row]')
        .evaluateAll((rows) =>
          rows.map((r) => [
            r.getAttribute('data-negotiation'),
            r.querySelector('[data-open-path]')?.getAttribute('data-open-path'),
          ]),
        );
      const leadOf = (id: string) =>
        sim.entities(portal.memberId, 'lead').find((l) => l['ORIGIN_ID'] === id)!['ID'];
      t.same(
        listed,
        untouched
          .filter((e) => e.createdAt < now - DAY)
          // hh.ru's times have seconds: within one second, by id.
          .sort(
            (x, y) =>
              Math.floor(x.createdAt / 1000) - Math.floor(y.createdAt / 1000) || x.id.localeCompare(y.id),
          )
          .map((e) => [e.id, `/crm/lead/details/${String(leadOf(e.id))}/`]),
        'the untouched ones older than a day, oldest first, each with a link to its lead',
      );

      // Refusals by the step reached, and the silent ones.
      const refused = expected.filter((e) => e.refused);
      const stepNames = [
        'Отклик',
        'Подумать / Телефонное интервью / Оценка',
        'Интервью',
        'Предложение о работе',
        'Выход на работу',
      ];
      t.same(
        await app
          .locator('[data-testid=refusal-row]')
          .evaluateAll((rows) =>
            rows.map((r) => [
              r.getAttribute('data-step'),
              ...Array.from(r.querySelectorAll('td'), (td) => td.textContent),
            ]),
          ),
        [...new Set(refused.map((e) => e.reached))]
          .sort()
          .map((s) => [
            stepNames[s],
            String(refused.filter((e) => e.reached === s).length),
            String(refused.filter((e) => e.reached === s && e.silent).length),
          ]),
        'refusals at each step, and how many told the applicant nothing',
      );
      await screenshot(page, '21-analytics');

      // ---- one vacancy, by week; a CSV file ------------------------------------------------------------
      await app.getByTestId('analytics-vacancies').selectOption(vB!.id);
      await app.getByTestId('analytics-by-week').check();
      await app.getByTestId('analytics-apply').click();
      await eventually(async () => (await app.locator('[data-testid=analytics-funnel-row]').count()) === 2, {
        what: 'the tab for one vacancy',
      });
      t.same(
        await cells(app, '[data-testid=analytics-time-total] td'),
        [
          String(expected.filter((e) => e.vacancyId === vB!.id && e.response).length),
          String(expected.filter((e) => e.vacancyId === vB!.id && !e.response).length),
        ],
        'the chosen vacancy alone',
      );
      const downloading = page.waitForEvent('download');
      await app.getByTestId('csv-funnel').click();
      const download = await downloading;
      const csv = (await readFile(await download.path(), 'utf8'))
        .replace(/^\ufeff/, '')
        .trim()
        .split('\r\n');
      const mineB = expected.filter((e) => e.vacancyId === vB!.id);
      t.match(download.suggestedFilename(), /^hh-analytics-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d-funnel\.csv$/);
      t.equal(csv.length, 3, 'a header, all vacancies (the one chosen) and that vacancy');
      t.same(
        // The vacancy, then each step's count (the conversions stand after the counts of steps 2 to 5).
        [0, 1, 2, 4, 6, 8].map((i) => csv.find((line) => line.startsWith(nameOf(vB!.id)))?.split(';')[i]),
        [nameOf(vB!.id), ...[0, 1, 2, 3, 4].map((k) => String(mineB.filter((e) => e.reached >= k).length))],
        'the CSV carries the same counts',
      );
    },
  );
}
