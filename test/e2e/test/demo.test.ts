/**
 * `npm run demo` as a newcomer meets it: the command runs as a child process (its own namespace,
 * free ports, a smaller employer and the limits off so that it takes seconds), prints one address,
 * and in a browser at that address the app installs, logs in to hh.ru, takes the settings and
 * imports deals with their timeline activities into the simulated portal; a response made in the
 * simulated hh.ru («Симулировать отклик», linked from the portal's menu) arrives as one more deal;
 * Ctrl-C stops it all. Twice: on a machine with nothing running (the default addresses pointed at
 * closed ports), where the demo starts its own Postgres, Redis and NATS and Ctrl-C leaves no
 * process and no folder of theirs; and with the running ones, as before.
 *
 * And when an address that was set has nothing usable, the demo says which and how to start it; a
 * program it would start is named with the line that installs it; a start of its own servers that
 * fails half-way, a Ctrl-C during it, or a SIGKILL of the demo leaves nothing behind; a port in
 * use is named with its variable.
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
import { alive, processesUsing } from '@hhb24/private-deps';
import { browser, freePort, screenshot } from './stack.js';

const DEMO = new URL('../../../../demo/dist/src/main.js', import.meta.url);
const RESPONSES = 40;
// Two whole demo runs in a browser and five short ones: more than the usual per-file limit on a
// busy machine (at a load average of 28 on 2 cores the file took 212 s before the limit cut it).
t.setTimeout(600_000);

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

/**
 * A machine running none of the three, as far as the demo can tell: no address set, and the
 * defaults it looks at are closed ports (the shared servers on the real defaults stay untouched).
 */
async function nothingRunning(env: Record<string, string>): Promise<Record<string, string>> {
  const { DATABASE_URL: _pg, REDIS_URL: _redis, NATS_URL: _nats, ...rest } = env;
  const [pg, redis, nats] = [await freePort(), await freePort(), await freePort()];
  return {
    ...rest,
    DEMO_DEFAULT_DATABASE_URL: `postgres://postgres@127.0.0.1:${pg}/postgres`,
    DEMO_DEFAULT_REDIS_URL: `redis://127.0.0.1:${redis}`,
    DEMO_DEFAULT_NATS_URL: `nats://127.0.0.1:${nats}`,
  };
}

/** The demo's own servers: their folder (from its output) and the processes running from it. */
function ownServers(demo: SpawnedNode): { dir: string; pids: number[] } {
  const line = demo.lines.find((l) => l.startsWith('Their data goes to '));
  const dir = / to (\S+), removed when the demo stops\.$/.exec(line ?? '')?.[1];
  if (!dir) throw new Error(`no folder line in ${JSON.stringify(demo.lines)}`);
  return { dir, pids: processesUsing(dir).map((p) => p.pid) };
}

if (!existsSync('/usr/bin/chromium')) {
  t.fail(
    '/usr/bin/chromium is missing: install Debian’s chromium (apt-get install -y chromium; .ci/run does it)',
  );
} else {
  for (const mode of ['nothing running', 'Postgres, Redis and NATS running'] as const)
    t.test(
      `npm run demo with ${mode}: one address; install → hh.ru login → settings → import of deals; a simulated response arrives; Ctrl-C stops it`,
      { timeout: 300_000 },
      async (t) => {
        const own = mode === 'nothing running';
        const { env: shared, cleanup } = await demoEnv();
        const env = own ? await nothingRunning(shared) : shared;
        if (!own) t.teardown(cleanup);
        const started = Date.now();
        const demo: SpawnedNode = spawnNode(DEMO, env);
        t.teardown(() => void (demo.child.exitCode === null && demo.child.kill('SIGKILL')));
        const line = await demo.waitForLine(/^\s+http:\/\/\S+\/portal\/demo\/$/, 120_000);
        t.comment(`the address after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const portalUrl = line.trim();
        t.equal(demo.lines.filter((l) => /https?:\/\//.test(l)).length, 1, 'the demo prints one address');
        let servers: { dir: string; pids: number[] } | null = null;
        if (own) {
          for (const name of ['Postgres', 'Redis', 'NATS'])
            t.ok(
              demo.lines.some(
                (l) => l.startsWith(`${name} at 127.0.0.1:`) && l.includes('the demo starts its own'),
              ),
              `says it starts its own ${name}`,
            );
          servers = ownServers(demo);
          t.ok(existsSync(servers.dir), `their folder ${servers.dir} is there`);
          // Postgres's main process and its workers, Redis, NATS.
          t.ok(servers.pids.length >= 3, `${servers.pids.length} processes run from it`);
        } else {
          t.notOk(
            demo.lines.some((l) => l.includes('the demo starts its own')),
            'the running servers are used; nothing of its own starts',
          );
        }

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
        await app
          .getByTestId('import-results')
          .waitFor({ timeout: 120_000 })
          .catch(async (err: Error) => {
            // What the page shows instead (a progress that stopped, an error) says where to look.
            const shown = await app
              .locator('body')
              .innerText()
              .catch(() => '(unreadable)');
            const logged = demo.lines.filter((l) => l.startsWith('{')).slice(-8);
            throw new Error(
              `${err.message.split('\n')[0]}; the app shows: ${shown.slice(0, 600)}; the demo logged: ${logged.join('\n')}`,
            );
          });
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
        if (!own) await screenshot(page, '00-demo-deals');

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
        if (servers) {
          t.same(
            servers.pids.filter((pid) => alive(pid)),
            [],
            'none of its own servers’ processes is left',
          );
          t.same(processesUsing(servers.dir), [], 'nothing runs from their folder');
          t.notOk(existsSync(servers.dir), 'their folder is removed');
        }
      },
    );
}

t.test('an address that was set, with nothing there, is named with the command that starts it', async (t) => {
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
  t.match(exit.stderr, 'or unset NATS_URL: the demo then starts its own', 'and the other way');
  t.notMatch(exit.stderr, /Postgres|Redis/, 'the dependencies that are there are not named');
  t.equal(demo.lines.filter((l) => /https?:\/\//.test(l)).length, 0, 'prints no address');
  t.notOk(
    demo.lines.some((l) => l.includes('starts its own')),
    'starts nothing of its own where an address was set',
  );
});

t.test('a program the demo would start is not installed: one line says how to install it', async (t) => {
  const { env } = await demoEnv();
  const demo = spawnNode(DEMO, {
    ...(await nothingRunning(env)),
    REDIS_SERVER: '/nonexistent/redis-server',
    NATS_SERVER: '/nonexistent/nats-server',
  });
  const exit = await demo.exited;
  t.equal(exit.code, 69, 'exits with EX_UNAVAILABLE');
  t.match(exit.stderr, 'The demo needs Redis and NATS: none answers on this machine', 'names both');
  t.match(
    exit.stderr,
    'Install it: Debian/Ubuntu: sudo apt-get install redis-server · macOS: brew install redis · Fedora: sudo dnf install valkey',
    'one line installs Redis',
  );
  t.match(
    exit.stderr,
    'Install it: Debian/Ubuntu: sudo apt-get install nats-server · macOS: brew install nats-server · Fedora: sudo dnf install nats-server',
    'one line installs NATS',
  );
  t.notOk(
    demo.lines.some((l) => l.includes('starts its own')),
    'starts nothing, not even the Postgres it could start',
  );
});

t.test(
  'its own servers failing to start half-way: what did start is stopped, the folder removed',
  async (t) => {
    const { env } = await demoEnv();
    // A Redis that ends at once, while Postgres and NATS start.
    const demo = spawnNode(DEMO, { ...(await nothingRunning(env)), REDIS_SERVER: '/bin/false' });
    const exit = await demo.exited;
    t.equal(exit.code, 69, 'exits with EX_UNAVAILABLE');
    t.match(
      exit.stderr,
      'The demo could not start its own servers: Redis stopped at its start',
      'says which one failed',
    );
    const { dir, pids } = ownServers(demo);
    t.same(pids, [], 'no process runs from the folder');
    t.notOk(existsSync(dir), 'the folder is removed');
  },
);

t.test('Ctrl-C while its own servers start: they are stopped and their folder removed', async (t) => {
  const { env } = await demoEnv();
  const demo = spawnNode(DEMO, await nothingRunning(env));
  t.teardown(() => void (demo.child.exitCode === null && demo.child.kill('SIGKILL')));
  await demo.waitForLine(/^Their data goes to /, 60_000);
  demo.child.kill('SIGINT');
  const exit = await demo.exited;
  t.equal(exit.code, 130, 'exits as interrupted');
  const { dir, pids } = ownServers(demo);
  t.same(pids, [], 'no process runs from the folder');
  t.notOk(existsSync(dir), 'the folder is removed');
  t.notOk(
    demo.lines.some((l) => /https?:\/\//.test(l)),
    'prints no address',
  );
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

t.test(
  'the demo killed (SIGKILL) once ready: its own servers are stopped and their folder removed',
  async (t) => {
    const { env } = await demoEnv();
    const demo = spawnNode(DEMO, await nothingRunning(env));
    t.teardown(() => void (demo.child.exitCode === null && demo.child.kill('SIGKILL')));
    await demo.waitForLine(/^\s+http:\/\/\S+\/portal\/demo\/$/, 120_000);
    const { dir, pids } = ownServers(demo);
    t.ok(pids.length >= 3, `${pids.length} processes run from ${dir}`);
    demo.child.kill('SIGKILL');
    await demo.exited;
    // Nothing in the demo runs after SIGKILL: its watchdog, waiting on a pipe the system closes, does it.
    await eventually(() => !existsSync(dir) && pids.every((pid) => !alive(pid)), {
      timeoutMs: 20_000,
      what: 'the watchdog stopping the servers and removing the folder',
    });
    t.same(processesUsing(dir), [], 'no process runs from the folder');
    t.notOk(existsSync(dir), 'the folder is removed');
  },
);
