/**
 * What a real portal sends the gateway, measured, against the default request limits: an admin in
 * the portal's browser installs, logs in to hh.ru, imports 200 responses into deals with two-way
 * statuses while watching the progress bar, then the employer moves 100 responses on hh.ru at once
 * (a webhook each, a stage move each, an event back from the portal each). Bitrix24's request limit
 * (2/s, burst 50) is on, so the import runs at a real portal's pace. The busiest minute of each
 * route group, per address and per portal, must stay at least ten times under its default limit,
 * and no request may have been refused. docs/security.md quotes the figures this prints.
 */
import { existsSync } from 'node:fs';
import t from 'tap';
import type { FrameLocator } from 'playwright-core';
import { eventually } from '@hhb24/common/testing';
import { groupOf, rateLimitSchema } from '@hhb24/gateway';
import { browser, busiestMinute, installAndConnect, startStack, workers } from './stack.js';

const MAPPING: Record<string, string> = {
  response: 'NEW',
  consider: 'PREPARATION',
  phone_interview: 'PREPAYMENT_INVOICE',
  assessment: 'PREPAYMENT_INVOICE',
  interview: 'PREPAYMENT_INVOICE',
  offer: 'FINAL_INVOICE',
  hired: 'WON',
  discard: 'LOSE',
};

const settled = (app: FrameLocator) =>
  eventually(async () => (await app.locator('.htmx-request, .htmx-settling, .htmx-added').count()) === 0);

const defaults = Object.fromEntries(
  Object.entries(rateLimitSchema).map(([name, f]) => [name, Number(f.default)]),
) as Record<string, number>;

// The import runs at a real portal's pace (about a minute and a half): longer than a test file's usual budget.
t.setTimeout(900_000);

if (!existsSync('/usr/bin/chromium')) {
  t.fail('/usr/bin/chromium is missing: install Debian’s chromium (apt-get install -y chromium)');
} else {
  t.test('a portal’s busiest minute stays far under every default limit', { timeout: 600_000 }, async (t) => {
    const stack = await startStack(t, {
      hh: 'real',
      b24RateLimit: true,
      recordTraffic: true,
      generate: {
        seed: 11,
        employers: 1,
        managersPerEmployer: 2,
        vacanciesPerManager: 5,
        negotiations: 200,
        heavyApplicantResponses: 3,
        tombstones: 2,
        unpaidEmployers: 0,
      },
      build: workers('hh-connector', 'crm-writer', 'timeline-renderer'),
    });
    const { sim } = stack.b24;
    const hh = stack.hh.sim;
    const b = await browser(t);
    const page = await b.newPage({ viewport: { width: 1280, height: 900 } });
    const portal = sim.createPortal({ name: 'busy', lang: 'ru' });
    const app = await installAndConnect(page, stack, 'busy', 0);
    await app.locator('[data-testid=tab][data-tab=settings]').click();
    await app.getByTestId('settings-form').waitFor();
    await app.getByTestId('entity-deal').check();
    await settled(app);
    await app.getByTestId('extended').check();
    await eventually(async () => (await app.locator('[data-testid=stage]').count()) === 8);
    await settled(app);
    for (const [state, stage] of Object.entries(MAPPING))
      await app.locator(`[data-field="stageByState.${state}"]`).selectOption(stage);
    await app.getByTestId('two-way').check();
    await settled(app);
    const started = Date.now();
    await app.getByTestId('save').click();
    await app.getByTestId('import-progress').waitFor();
    // The page stays open, polling the progress, while the import runs at the portal's pace.
    const deals = () => sim.entities(portal.memberId, 'deal');
    const total = hh.store.negotiations.size;
    await eventually(() => deals().length === total && sim.activities(portal.memberId).length === total, {
      timeoutMs: 600_000,
      intervalMs: 2000,
      what: `${total} deals with their activities`,
    });
    const importSec = (Date.now() - started) / 1000;

    // The employer moves 100 responses on hh.ru at once: 100 webhooks, 100 stage moves, 100 events back.
    const moved = [...hh.store.negotiations.values()]
      .filter((n) => n.employerState === 'response')
      .slice(0, 100);
    for (const n of moved) hh.move(n.id, 'consider');
    await eventually(
      () =>
        moved.every(
          (n) => deals().find((d) => d['ORIGIN_ID'] === n.id)?.['STAGE_ID'] === MAPPING['consider'],
        ),
      { timeoutMs: 120_000, intervalMs: 1000, what: 'the moved responses’ stages' },
    );
    await sim.idle();

    const traffic = stack.traffic;
    const refused = traffic.filter((r) => r.status === 429);
    t.same(
      refused,
      [],
      `no request was refused (${traffic.length} answered, import ${importSec.toFixed(0)} s)`,
    );
    const figures: string[] = [];
    for (const group of ['install', 'pages', 'callbacks'] as const) {
      const mine = traffic.filter((r) => groupOf(r.route) === group);
      const upper = group.toUpperCase();
      const perAddress = busiestMinute(mine, (r) => r.address);
      const perPortal = busiestMinute(mine, (r) => r.portal);
      for (const [per, peak, limit] of [
        ['address', perAddress.count, defaults[`GATEWAY_RATE_${upper}_PER_ADDRESS`]!],
        ['portal', perPortal.count, defaults[`GATEWAY_RATE_${upper}_PER_PORTAL`]!],
      ] as const) {
        figures.push(`${group} per ${per}: ${peak} in the busiest minute (limit ${limit})`);
        t.ok(peak * 10 <= limit, `${group} per ${per}: ${peak} × 10 ≤ ${limit}`);
      }
    }
    t.comment(`${traffic.length} requests in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    for (const f of figures) t.comment(f);
  });
}
