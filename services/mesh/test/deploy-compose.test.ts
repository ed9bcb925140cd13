/**
 * docker-compose.yml as `docker-compose config` resolves it (anchors, merges, interpolation), with
 * and without the demo profile, held to the code: every service of the catalogue runs its entry
 * with every variable its schema reads and nothing else, waits for healthy dependencies and the
 * setup job, and has room to drain.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { ConfigError, type Schema, loadConfig } from '@hhb24/common';
import {
  type Doc,
  INFRASTRUCTURE_VARIABLES,
  OPERATOR_SAMPLES,
  buildFromEnv,
  catalogue,
  compareVariables,
  meshSchema,
  parseYaml,
  repoPath,
  run,
  seconds,
} from './deployment-facts.js';

const INFRASTRUCTURE = ['nats', 'postgres', 'redis'];

/** A published port as docker-compose config writes it: the short form "127.0.0.1:3101:3101/tcp" or the long form. */
function publishedPorts(s: Doc): Array<{ hostIp: string; published: number; target: number }> {
  return (s.ports ?? []).map((p: Doc) => {
    if (typeof p === 'string') {
      const parts = p.split('/')[0]!.split(':');
      const target = Number(parts.at(-1));
      return {
        hostIp: parts.length === 3 ? parts[0]! : '',
        published: Number(parts.length >= 2 ? parts.at(-2) : target),
        target,
      };
    }
    return { hostIp: p.host_ip ?? '', published: Number(p.published ?? p.target), target: Number(p.target) };
  });
}

function composeConfig(profiles: string[], env: Record<string, string | undefined>): Doc {
  const args = ['-f', repoPath('docker-compose.yml'), ...profiles.flatMap((p) => ['--profile', p]), 'config'];
  return parseYaml(run('docker-compose', args, env));
}

t.test('docker-compose config refuses to run without what only the operator can give', async (t) => {
  for (const name of Object.keys(OPERATOR_SAMPLES)) {
    t.throws(
      () => composeConfig([], { ...process.env, ...OPERATOR_SAMPLES, [name]: undefined }),
      new RegExp(`set ${name}`),
      `without ${name}`,
    );
  }
});

t.test('.env.example lists what compose requires, and compose refuses it unfilled', async (t) => {
  const composeText = readFileSync(repoPath('docker-compose.yml'), 'utf8');
  const required = new Set([...composeText.matchAll(/\$\{(\w+):\?/g)].map((m) => m[1]!));
  t.same(
    [...required].sort(),
    Object.keys(OPERATOR_SAMPLES).sort(),
    'OPERATOR_SAMPLES is what compose requires',
  );
  t.ok(required.has('POSTGRES_PASSWORD'), 'the Postgres password has no default');
  t.notMatch(composeText, /POSTGRES_PASSWORD:-/, 'not anywhere');
  const example = readFileSync(repoPath('.env.example'), 'utf8');
  const listed = [...example.matchAll(/^(\w+)=(.*)$/gm)];
  t.same(
    listed.filter(([, , value]) => value !== '').map(([, name]) => name),
    [],
    'the example holds no value (nobody deploys a sample key)',
  );
  const names = new Set(listed.map(([, name]) => name!));
  for (const name of required) t.ok(names.has(name), `.env.example lists ${name}`);
  const read = new Set([...composeText.matchAll(/\$\{(\w+):[?-]/g)].map((m) => m[1]!));
  for (const name of names) t.ok(read.has(name), `${name} of .env.example is read by docker-compose.yml`);
  const { PATH } = process.env;
  t.throws(
    () =>
      run(
        'docker-compose',
        ['-f', repoPath('docker-compose.yml'), '--env-file', repoPath('.env.example'), 'config'],
        { PATH },
      ),
    /set \w+/,
    'docker-compose config with the example as it is: refused, naming a variable to set',
  );
  t.throws(
    () => composeConfig([], { PATH, ...OPERATOR_SAMPLES, POSTGRES_PASSWORD: '' }),
    /set POSTGRES_PASSWORD .*\.env\.example/,
    'an empty Postgres password is refused as a missing one, pointing at .env.example',
  );
  const ignored = readFileSync(repoPath('.dockerignore'), 'utf8').split('\n');
  t.ok(ignored.includes('.env'), '.env stays out of the build context');
  t.ok(readFileSync(repoPath('.gitignore'), 'utf8').split('\n').includes('.env'), 'and out of git');
});

t.test('docker-compose.yml gives every service the V8 heap flags of the Kubernetes deployment', async (t) => {
  // Read from the file, not from `docker-compose config`: the test runner puts NODE_OPTIONS of its own into every child's environment.
  const deployed = /^NODE_OPTIONS=(.*)$/m.exec(readFileSync(repoPath('deploy/base/shared.env'), 'utf8'))?.[1];
  t.ok(deployed, 'deploy/base/shared.env sets NODE_OPTIONS');
  const settings = parseYaml(readFileSync(repoPath('docker-compose.yml'), 'utf8'))['x-settings'];
  t.equal(
    settings.NODE_OPTIONS,
    `\${NODE_OPTIONS:-${deployed}}`,
    'x-settings (every service and the setup job) defaults to the same flags',
  );
});

for (const profiles of [[], ['demo']]) {
  t.test(
    `docker-compose config ${profiles.map((p) => `--profile ${p}`).join(' ') || 'without profiles'}: matches the code`,
    async (t) => {
      const compose = composeConfig(profiles, { ...process.env, ...OPERATOR_SAMPLES });
      const services = compose.services as Record<string, Doc>;
      const byDefault = Object.keys(services).filter((n) => !services[n].profiles);
      t.same(
        byDefault.sort(),
        [...catalogue.map((s) => s.name), 'setup', ...INFRASTRUCTURE].sort(),
        'without a profile: the infrastructure, the setup job and every service',
      );
      for (const [name, s] of Object.entries(services)) {
        if (s.profiles) t.same(s.profiles, ['demo'], `${name} belongs to the demo profile only`);
        for (const dep of Object.keys(s.depends_on ?? {})) {
          t.ok(services[dep], `${name} depends on ${dep}, which exists`);
          if (!s.profiles)
            t.notOk(
              services[dep]?.profiles,
              `${name} starts without a profile, so its dependency ${dep} must too`,
            );
        }
      }

      const images = new Set([...catalogue.map((s) => s.name), 'setup'].map((n) => services[n]?.image));
      t.equal(images.size, 1, 'the services and the setup job run one image');
      for (const name of INFRASTRUCTURE) {
        t.ok(services[name]?.healthcheck?.test, `${name} has a health check`);
        t.ok(services[name]?.volumes?.length > 0, `${name} keeps its data in a volume`);
      }
      const nats = services['nats'];
      const natsArgs: string[] = nats.command;
      t.ok(natsArgs.includes('--jetstream'), 'NATS runs JetStream');
      const storeDir = natsArgs[natsArgs.indexOf('--store_dir') + 1];
      t.ok(
        nats.volumes.some((v: Doc) =>
          typeof v === 'string' ? v.split(':')[1] === storeDir : v.target === storeDir,
        ),
        `JetStream stores its files in the volume (${storeDir})`,
      );
      const monitor = natsArgs[natsArgs.indexOf('--http_port') + 1];
      t.match(
        nats.healthcheck.test.join(' '),
        `:${monitor}/healthz`,
        'the monitoring port answers the health check',
      );

      const setup = services['setup'];
      t.same(
        setup.command,
        ['node', 'services/mesh/dist/src/setup.js'],
        'the setup job runs the setup entry',
      );
      t.equal(setup.restart, 'no', 'the setup job runs once');
      t.same(
        setup.depends_on,
        { nats: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' } },
        'the setup job waits for healthy NATS and Postgres',
      );
      const setupEnv = setup.environment as Record<string, string>;
      t.same(
        compareVariables(meshSchema, Object.keys(setupEnv)),
        { missing: [], unread: [] },
        'the setup job gets every variable of every service, and nothing else',
      );

      for (const entry of catalogue) {
        const s = services[entry.name];
        const what = `compose ${entry.name}`;
        t.same(s.command, ['node', entry.entry], `${what}: runs ${entry.entry}`);
        const env = s.environment as Record<string, string>;
        t.same(
          compareVariables(entry.schema, Object.keys(env)),
          { missing: [], unread: [] },
          `${what}: every variable its code reads, nothing else (allowed: ${Object.keys(INFRASTRUCTURE_VARIABLES).join(', ')})`,
        );
        let built;
        try {
          built = buildFromEnv(entry, env);
        } catch (err) {
          t.fail(
            `${what}: settings pass the schema: ${err instanceof ConfigError ? err.problems.join('; ') : String(err)}`,
          );
          continue;
        }
        t.teardown(() => built.close());
        t.equal(built.config['MIGRATE_ON_START'], false, `${what}: leaves migrations to the setup job`);
        t.equal(Number(env['HEALTH_PORT']), built.port, `${what}: the image's health check probes its port`);
        t.ok(await built.routeExists('/livez'), `${what}: the health check path exists`);
        for (const [host, variable] of [
          ['postgres', 'DATABASE_URL'],
          ['redis', 'REDIS_URL'],
          ['nats', 'NATS_URL'],
        ] as const) {
          t.equal(
            new URL(String(built.config[variable])).hostname,
            host,
            `${what}: ${variable} points at the ${host} service`,
          );
        }
        t.same(
          s.depends_on,
          {
            setup: { condition: 'service_completed_successfully' },
            nats: { condition: 'service_healthy' },
            postgres: { condition: 'service_healthy' },
            redis: { condition: 'service_healthy' },
          },
          `${what}: starts after healthy dependencies and the completed setup job`,
        );
        const shutdown = Number(built.config['SHUTDOWN_TIMEOUT_MS']) / 1000;
        t.ok(
          seconds(s.stop_grace_period ?? '10s') > shutdown,
          `${what}: stop_grace_period ${s.stop_grace_period} > SHUTDOWN_TIMEOUT_MS (${shutdown} s)`,
        );
        t.equal(s.read_only, true, `${what}: read-only root filesystem`);
        const published = publishedPorts(s).map((p) => p.target);
        t.same(
          published,
          entry.name === 'gateway' ? [built.port] : [],
          `${what}: ${entry.name === 'gateway' ? 'publishes its port, the only public one' : 'publishes no port'}`,
        );
      }

      // /metrics, /readyz and /livez share the gateway's port, NATS has no password here, Postgres and Redis hold the data.
      for (const [name, s] of Object.entries(services)) {
        for (const p of publishedPorts(s))
          t.equal(p.hostIp, '127.0.0.1', `${name}: port ${p.published} is published on 127.0.0.1 only`);
      }
      for (const name of ['postgres', 'redis'])
        t.same(
          publishedPorts(services[name]),
          [],
          `${name} publishes no port (docker compose exec reaches it)`,
        );
      t.equal(
        services['postgres'].environment.POSTGRES_PASSWORD,
        OPERATOR_SAMPLES['POSTGRES_PASSWORD'],
        'Postgres takes its password from the operator',
      );
      for (const entry of catalogue)
        t.equal(
          new URL(services[entry.name].environment.DATABASE_URL).password,
          OPERATOR_SAMPLES['POSTGRES_PASSWORD'],
          `${entry.name} connects with that password`,
        );
    },
  );
}

t.test(
  'docker compose --env-file demo/compose.env --profile demo: the simulators, and the services pointed at them',
  async (t) => {
    const envFile = repoPath('demo/compose.env');
    const compose = parseYaml(
      run(
        'docker-compose',
        ['-f', repoPath('docker-compose.yml'), '--env-file', envFile, '--profile', 'demo', 'config'],
        {},
      ),
    );
    const services = compose.services as Record<string, Doc>;
    // The demo's own schema, read from its build (the demo project depends on this one, not the reverse).
    const { simSchema } = (await import(
      new URL('demo/dist/src/config.js', `file://${repoPath('')}`).href
    )) as { simSchema: Schema };

    const aliases = (s: Doc): string[] => s.networks?.default?.aliases ?? [];
    const published = (s: Doc): number[] => publishedPorts(s).map((p) => p.published);
    const gateway = services['gateway'];
    const gatewayUrl = new URL(gateway.environment.PUBLIC_URL);
    t.ok(
      gatewayUrl.hostname.endsWith('.localhost'),
      `the gateway is ${gatewayUrl.origin}: browsers resolve *.localhost to this machine`,
    );
    t.ok(aliases(gateway).includes(gatewayUrl.hostname), 'and the simulators reach the gateway by that name');
    t.ok(published(gateway).includes(Number(gatewayUrl.port)), 'at the published port');

    const sims = { hh: services['hh-sim'], b24: services['b24-sim'] };
    const urls: Record<string, URL> = {};
    for (const [which, s] of Object.entries(sims)) {
      const what = `${which}-sim`;
      t.ok(s, `${what} is in the demo profile`);
      if (!s) continue;
      t.same(s.profiles, ['demo'], `${what} starts only with the demo profile`);
      t.not(s.image, gateway.image, `${what} runs an image of its own, not the production one`);
      t.equal(s.build?.target, 'demo', `${what} is built from the Dockerfile's demo target`);
      t.same(s.command, ['node', 'demo/dist/src/sim.js', which], `${what} runs the demo's simulator entry`);
      const env = s.environment as Record<string, string>;
      t.same(
        compareVariables(simSchema, Object.keys(env)),
        { missing: [], unread: [] },
        `${what}: every variable the entry reads, nothing else`,
      );
      let config: Record<string, unknown>;
      try {
        config = loadConfig(what, simSchema, env);
      } catch (err) {
        t.fail(
          `${what}: settings pass the schema: ${err instanceof ConfigError ? err.problems.join('; ') : String(err)}`,
        );
        continue;
      }
      const url = new URL(String(config[which === 'hh' ? 'HH_SIM_PUBLIC_URL' : 'B24_SIM_PUBLIC_URL']));
      urls[which] = url;
      const port = Number(config[which === 'hh' ? 'HH_SIM_PORT' : 'B24_SIM_PORT']);
      t.ok(
        url.hostname.endsWith('.localhost') && aliases(s).includes(url.hostname),
        `${what}: ${url.origin} is its network alias, and a name browsers resolve`,
      );
      t.equal(Number(url.port), port, `${what}: listens on the port its address names`);
      t.same(published(s), [port], `${what}: publishes that port`);
      t.match(
        s.healthcheck.test.join(' '),
        `127.0.0.1:${port}/`,
        `${what}: its health check asks its own port (the image's asks /livez, which a simulator lacks)`,
      );
      t.equal(
        config['PUBLIC_URL'],
        gateway.environment.PUBLIC_URL,
        `${what}: sends browsers, events and webhooks to the gateway`,
      );
    }

    for (const entry of catalogue) {
      const env = services[entry.name].environment as Record<string, string>;
      const what = `demo ${entry.name}`;
      try {
        loadConfig(entry.name, entry.schema, env);
      } catch (err) {
        t.fail(
          `${what}: demo/compose.env satisfies its schema in production mode: ${err instanceof ConfigError ? err.problems.join('; ') : String(err)}`,
        );
      }
      if (!urls['hh'] || !urls['b24']) continue;
      if ('HH_OAUTH_URL' in env)
        t.equal(env['HH_OAUTH_URL'], urls['hh'].origin, `${what}: sends people to the simulated hh.ru`);
      if ('HH_API_URL' in env)
        t.equal(env['HH_API_URL'], urls['hh'].origin, `${what}: calls the simulated hh.ru`);
      if ('HH_REDIRECT_URI' in env)
        t.equal(
          env['HH_REDIRECT_URI'],
          `${gatewayUrl.origin}/hh/oauth/callback`,
          `${what}: hh.ru returns to the gateway`,
        );
      if ('B24_PORTAL_HOSTS' in env)
        t.equal(
          env['B24_PORTAL_HOSTS'],
          urls['b24'].host,
          `${what}: accepts installs from the simulated portal`,
        );
      if ('B24_OAUTH_HOSTS' in env)
        t.equal(env['B24_OAUTH_HOSTS'], urls['b24'].host, `${what}: asks the simulated OAuth server`);
      if ('B24_JS_URL' in env)
        t.equal(
          env['B24_JS_URL'],
          `${urls['b24'].origin}/api/v1/`,
          `${what}: pages load BX24.js from the simulated portal`,
        );
    }

    const dockerfile = readFileSync(repoPath('Dockerfile'), 'utf8');
    t.match(
      dockerfile,
      /^FROM \S+ AS demo$/m,
      'the Dockerfile has the demo target (checked in deploy-dockerfile.test.ts)',
    );
    t.equal(
      gateway.build?.target,
      undefined,
      'the services are built from the default target, the production image',
    );
  },
);
