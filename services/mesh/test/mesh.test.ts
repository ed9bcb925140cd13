import { randomUUID } from 'node:crypto';
import t from 'tap';
import { Keyring, createDb } from '@hhb24/common';
import { createTestEnv, eventually, sealV1, spawnNode } from '@hhb24/common/testing';

const main = new URL('../src/main.js', import.meta.url);
const setup = new URL('../src/setup.js', import.meta.url);
const ports = {
  GATEWAY_PORT: '0',
  HH_CONNECTOR_PORT: '0',
  CRM_WRITER_PORT: '0',
  TIMELINE_RENDERER_PORT: '0',
  SETTINGS_PORT: '0',
  HTTP_HOST: '127.0.0.1',
};

t.test(
  'npm start: every service comes up ready in one process, and SIGINT stops them all cleanly within 10 s',
  async (t) => {
    const env = createTestEnv(ports);
    t.teardown(() => env.cleanup());
    const mesh = spawnNode(main, env.env);
    t.teardown(() => void mesh.child.kill('SIGKILL'));
    await mesh.waitForLine(/mesh is up/, 30_000);
    await eventually(() => mesh.lines.filter((l) => /\/readyz/.test(l)).length === 5, {
      what: 'five health lines',
    });
    const byService: Record<string, string> = {};
    for (const line of mesh.lines) {
      const m = /^\s+(\S+)\s+(http:\/\/\S+\/readyz)/.exec(line);
      if (m) byService[m[1]!] = m[2]!;
    }
    t.same(Object.keys(byService).sort(), [
      'crm-writer',
      'gateway',
      'hh-connector',
      'settings',
      'timeline-renderer',
    ]);
    for (const [service, url] of Object.entries(byService)) {
      const res = await fetch(url);
      const body = (await res.json()) as { service: string; checks: Record<string, boolean> };
      t.equal(res.status, 200, `${service} is ready`);
      t.equal(body.service, service);
      t.same(body.checks, { postgres: true, nats: true, redis: true });
      const live = await fetch(url.replace('/readyz', '/livez'));
      t.equal(live.status, 200, `${service} is live`);
      const metrics = await (await fetch(url.replace('/readyz', '/metrics'))).text();
      t.match(
        metrics,
        new RegExp(`hhb24_process_resident_memory_bytes\\{service="${service}"\\}`),
        `${service} exports metrics`,
      );
    }
    // A keep-alive client must not hold the shutdown open.
    await fetch(byService['gateway']!, { keepalive: true });
    const started = Date.now();
    mesh.child.kill('SIGINT');
    const exit = await mesh.exited;
    const took = Date.now() - started;
    t.equal(exit.code, 0, 'exit code 0');
    t.ok(took < 10_000, `stopped in ${took} ms`);
  },
);

t.test('a service refuses to start on bad configuration, naming the variable', async (t) => {
  const env = createTestEnv(ports);
  const gateway = spawnNode(new URL('../../../../gateway/dist/src/main.js', import.meta.url), {
    ...env.env,
    GATEWAY_PORT: 'eighty',
    NATS_PREFIX: 'Not.Valid',
  });
  const exit = await gateway.exited;
  t.equal(exit.code, 78, 'exit code 78 (configuration error)');
  t.match(exit.stderr, /Invalid configuration of gateway/);
  t.match(exit.stderr, /GATEWAY_PORT must be a whole number, got "eighty"/);
  t.match(exit.stderr, /NATS_PREFIX must match/);
  t.equal(gateway.lines.length, 0, 'nothing started');
});

t.test('the setup job creates every table, stream and consumer, and can run again', async (t) => {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  for (let run = 1; run <= 2; run++) {
    const job = spawnNode(setup, { ...env.env, LOG_LEVEL: 'info' });
    const exit = await job.exited;
    t.equal(exit.code, 0, `run ${run} succeeded`);
    const done = job.lines
      .map((l) => JSON.parse(l) as { msg: string; applied?: string[] })
      .find((l) => l.msg === 'setup done');
    t.ok(done, 'reports what it did');
    if (run === 1) t.ok(done!.applied!.includes('common/20261127_01_outbox_inbox_dead_letters'));
    else t.same(done!.applied, [], 'nothing to apply the second time');
  }
});

t.test('the README configuration table is the one the schemas produce (npm run docs:config)', async (t) => {
  const { readFile } = await import('node:fs/promises');
  const { configTable } = await import('../src/config-table.js');
  const readme = await readFile(new URL('../../../../README.md', import.meta.url), 'utf8');
  t.ok(readme.includes(configTable()), 'README.md is up to date');
});

t.test(
  'the re-seal command binds tokens sealed by an older release to their place, and says whether older keys may go',
  async (t) => {
    const env = createTestEnv();
    t.teardown(() => env.cleanup());
    const setupRun = await spawnNode(setup, env.env).exited;
    t.equal(setupRun.code, 0, 'setup first');
    const keys = env.config.TOKEN_ENCRYPTION_KEYS;
    const db = createDb({
      url: env.config.DATABASE_URL,
      schema: env.config.DATABASE_SCHEMA,
      poolMax: 1,
      applicationName: 'reseal-check',
    });
    t.teardown(() => db.destroy());
    // Rows as the release before bound sealing left them.
    await db('b24_portals').insert({
      member_id: 'portal-1',
      domain: 'acme.bitrix24.ru',
      client_endpoint: 'https://acme.bitrix24.ru/rest/',
      server_endpoint: 'https://oauth.bitrix24.tech/rest/',
      access_token_sealed: sealV1(keys, 'b24-access'),
      refresh_token_sealed: sealV1(keys, 'b24-refresh'),
      expires_at: new Date(Date.now() + 3600_000),
      application_token_hash: '00',
    });
    await db('hh_accounts').insert({
      id: randomUUID(),
      member_id: 'portal-1',
      hh_user_id: '5000001',
      employer_id: '1',
      employer_name: 'ООО «Ромашка»',
      manager_id: '2',
      manager_name: 'Петрова Ольга',
      is_admin: true,
      access_token: sealV1(keys, 'hh-access'),
      refresh_token: sealV1(keys, 'hh-refresh'),
      expires_at: new Date(Date.now() + 3600_000),
    });
    const reseal = async (args: string[]) => {
      const job = spawnNode(
        new URL('../src/reseal.js', import.meta.url),
        { ...env.env, LOG_LEVEL: 'info' },
        args,
      );
      return { exit: await job.exited, lines: job.lines };
    };

    const check = await reseal(['--check']);
    t.equal(check.exit.code, 1, 'reseal --check: values not bound yet, exit 1');
    t.ok(
      check.lines.some((l) => /not bound to their place/.test(l)),
      'and says why',
    );
    const run = await reseal([]);
    t.equal(run.exit.code, 0, 'reseal succeeded');
    t.ok(
      run.lines.some((l) => /"table":"hh_accounts","column":"access_token","resealed":1,"bound":1/.test(l)),
      'it reports what it bound, table by table',
    );
    const again = await reseal(['--check']);
    t.equal(again.exit.code, 0, 'reseal --check: every value is on the current key and bound');
    t.ok(again.lines.some((l) => /older keys may be dropped/.test(l)));

    const ring = new Keyring(keys);
    const portal = await db('b24_portals').where({ member_id: 'portal-1' }).first();
    t.equal(
      ring.open(portal.access_token_sealed, {
        table: 'b24_portals',
        column: 'access_token_sealed',
        owner: 'portal-1',
      }),
      'b24-access',
    );
    const account = await db('hh_accounts').where({ member_id: 'portal-1' }).first();
    t.equal(
      ring.open(account.refresh_token, {
        table: 'hh_accounts',
        column: 'refresh_token',
        owner: 'portal-1/5000001',
      }),
      'hh-refresh',
    );
    t.throws(
      () =>
        ring.open(account.refresh_token, {
          table: 'hh_accounts',
          column: 'refresh_token',
          owner: 'portal-2/5000001',
        }),
      'bound: it no longer opens in another portal’s row',
    );
  },
);
