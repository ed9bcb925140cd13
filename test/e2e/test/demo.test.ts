/**
 * `npm run demo` as a newcomer meets it: the command runs as a child process (its own namespace,
 * free ports, a smaller employer and the limits off so that it takes seconds), prints one address,
 * and in a browser at that address the app installs, logs in to hh.ru, takes the settings and
 * imports deals with their timeline activities into the simulated portal; a response made in the simulated hh.ru («Симулировать
 * отклик», linked from the portal's menu) arrives as one more deal; Ctrl-C stops it all. And when
 * a dependency is missing, the demo says which one and how to start it, and a port in use is named with its variable.
 */
import { existsSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import t from 'tap';
import {
  type SpawnedNode,
  cleanupTestEnv,
  createTestEnv,
  eventually,
  spawnNode,
} from '@hhb24/common/testing';
import { browser, freePort, screenshot } from './stack.js';

const DEMO = new URL('../../../../demo/dist/src/main.js', import.meta.url);
const RESPONSES = 40;

/** The demo's environment: the test dependencies, a namespace of its own, free ports. */
async function demoEnv(): Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> {
  const base = createTestEnv();
  const ns = `${base.id}demo`;
  const env = {
    DATABASE_URL: base.env['DATABASE_URL']!,
    REDIS_URL: base.env['REDIS_URL']!,
    NATS_URL: base.env['NATS_URL']!,
    DEMO_NAMESPACE: ns,
    GATEWAY_PORT: String(await freePort()),
    HH_SIM_PORT: '0',
    B24_SIM_PORT: '0',
    HH_CONNECTOR_PORT: '0',
    CRM_WRITER_PORT: '0',
    TIMELINE_RENDERER_PORT: '0',
    SETTINGS_PORT: '0',
    DEMO_RESPONSES: String(RESPONSES),
    DEMO_RATE_LIMITS: 'false',
  };
  return {
    env,
    cleanup: () => cleanupTestEnv({ ...env, DATABASE_SCHEMA: ns, NATS_PREFIX: ns, REDIS_PREFIX: `${ns}:` }),
  };
}

/** What the simulated portal holds, read through its control API. */
async function portalData(
  portalUrl: string,
  what: 'entities/deal' | 'activities',
): Promise<Array<Record<string, unknown>>> {
  const { origin, pathname } = new URL(portalUrl);
  const name = pathname.split('/')[2]!;
  const res = await fetch(`${origin}/_sim/portals/${name}/${what}`);
  if (!res.ok) throw new Error(`the portal's ${what}: ${res.status}`);
  return (await res.json()) as Array<Record<string, unknown>>;
}
const deals = (portalUrl: string) => portalData(portalUrl, 'entities/deal');

if (!existsSync('/usr/bin/chromium')) {
  t.fail(
    '/usr/bin/chromium is missing: install Debian’s chromium (apt-get install -y chromium; .ci/run does it)',
  );
} else {
  t.test(
    'npm run demo: one address; install → hh.ru login → settings → import of deals; a simulated response arrives; Ctrl-C stops it',
    { timeout: 240_000 },
    async (t) => {
      const { env, cleanup } = await demoEnv();
      t.teardown(cleanup);
      const demo: SpawnedNode = spawnNode(DEMO, env);
      t.teardown(() => void (demo.child.exitCode === null && demo.child.kill('SIGKILL')));
      const line = await demo.waitForLine(/^\s+http:\/\/\S+\/portal\/demo\/$/, 90_000);
      const portalUrl = line.trim();
      t.equal(demo.lines.filter((l) => /https?:\/\//.test(l)).length, 1, 'the demo prints one address');

      const b = await browser(t);
      const page = await b.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(portalUrl);
      await page.getByTestId('menu-market').click();
      await page.getByTestId('install-app').click();
      const app = page.frameLocator('[data-testid=app-iframe]');
      await app.getByTestId('install-done').click();
      await page.getByTestId('install-finished').waitFor();

      const popupOpened = page.waitForEvent('popup');
      await app.getByTestId('login').click();
      const popup = await popupOpened;
      await popup.waitForURL(/\/oauth\/authorize\?/);
      await popup.getByRole('button', { name: 'Разрешить' }).click();
      await popup.getByTestId('login-result').waitFor();
      await popup.close().catch(() => {});
      await app.getByTestId('connected').waitFor({ timeout: 20_000 });

      await app.locator('[data-testid=tab][data-tab=settings]').click();
      await app.getByTestId('settings-form').waitFor();
      await app.getByTestId('responsible').selectOption('1');
      await app.getByTestId('entity-deal').check();
      await app.getByTestId('pipeline').waitFor();
      await eventually(
        async () => (await app.locator('.htmx-request, .htmx-settling, .htmx-added').count()) === 0,
      );
      await app.getByTestId('save').click();
      await app.getByTestId('import-results').waitFor({ timeout: 120_000 });
      const imported = await deals(portalUrl);
      t.ok(
        imported.length > 0 && imported.length <= RESPONSES,
        `${imported.length} deals imported from ${RESPONSES} responses and invitations`,
      );
      t.equal(
        await app.getByTestId('result-imported').textContent(),
        `Сделок импортировано: ${imported.length}`,
        'the result line counts the deals the portal received',
      );

      await page.getByTestId('menu-deals').click();
      await eventually(async () => (await page.getByTestId('entity-row').count()) === imported.length, {
        what: 'the deals list shows every imported deal',
      });
      await screenshot(page, '00-demo-deals');

      // Each deal carries its timeline activity; a deal's card shows it with «Резюме» and «Другие отклики».
      await eventually(async () => (await portalData(portalUrl, 'activities')).length === imported.length, {
        timeoutMs: 60_000,
        what: 'an activity on every deal',
      });
      await page.getByTestId('entity-row').first().locator('a').first().click();
      const activity = page.getByTestId('activity').first();
      await activity.waitFor();
      t.match(
        await activity.getByTestId('activity-title').textContent(),
        /^(Отклик|Приглашение)$/,
        'the deal shows its activity',
      );
      t.equal(
        await activity.locator('[data-testid=activity-button]').count(),
        2,
        'with «Резюме» and «Другие отклики»',
      );

      // A new response on hh.ru, made the way a person does it in the demo.
      const hhOpened = page.waitForEvent('popup');
      await page.getByTestId('menu-link').click();
      const hh = await hhOpened;
      await hh.getByRole('button', { name: 'Симулировать отклик' }).first().click();
      await hh.locator('.done').waitFor();
      await eventually(async () => (await deals(portalUrl)).length === imported.length + 1, {
        timeoutMs: 30_000,
        what: 'the simulated response arriving as one more deal',
      });

      demo.child.kill('SIGINT');
      const exit = await demo.exited;
      t.same(
        { code: exit.code, signal: exit.signal },
        { code: 0, signal: null },
        'Ctrl-C stops the demo cleanly',
        { lastLines: demo.lines.slice(-15), stderr: exit.stderr.slice(-2000) },
      );
      await t.rejects(fetch(portalUrl), 'the simulated portal is gone with it');
    },
  );
}

t.test('a missing dependency is named, with the command that starts it', async (t) => {
  const { env, cleanup } = await demoEnv();
  t.teardown(cleanup);
  const closed = await freePort();
  const demo = spawnNode(DEMO, { ...env, NATS_URL: `nats://127.0.0.1:${closed}` });
  const exit = await demo.exited;
  t.equal(exit.code, 69, 'exits with EX_UNAVAILABLE before starting anything');
  t.match(
    exit.stderr,
    `NATS at 127.0.0.1:${closed}`,
    'names the missing service and where it was looked for',
  );
  t.match(exit.stderr, `nats-server --jetstream --port ${closed}`, 'says how to start it');
  t.notMatch(exit.stderr, /Postgres|Redis/, 'the dependencies that are there are not named');
  t.equal(demo.lines.filter((l) => /https?:\/\//.test(l)).length, 0, 'prints no address');
});

t.test('a port taken by another program is named, with the variable that moves it', async (t) => {
  const { env, cleanup } = await demoEnv();
  t.teardown(cleanup);
  const other = createServer();
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => other.close(r)));
  const port = (other.address() as AddressInfo).port;
  const demo = spawnNode(DEMO, { ...env, B24_SIM_PORT: String(port) });
  const exit = await demo.exited;
  t.equal(exit.code, 69, 'exits before starting anything');
  t.match(
    exit.stderr,
    `${port} (B24_SIM_PORT): set B24_SIM_PORT to a free port`,
    'names the port and its variable',
  );
  t.equal(demo.lines.filter((l) => /https?:\/\//.test(l)).length, 0, 'prints no address');
});
