/**
 * docker-compose.yml as `docker-compose config` resolves it (anchors, merges, interpolation), with
 * and without the demo profile, held to the code: every service of the catalogue runs its entry
 * with every variable its schema reads and nothing else, waits for healthy dependencies and the
 * setup job, and has room to drain.
 */
import t from 'tap';
import { ConfigError } from '@hhb24/common';
import { type Doc, INFRASTRUCTURE_VARIABLES, OPERATOR_SAMPLES, buildFromEnv, catalogue, compareVariables, meshSchema, parseYaml, repoPath, run, seconds } from './deployment-facts.js';

const INFRASTRUCTURE = ['nats', 'postgres', 'redis'];

function composeConfig(profiles: string[], env: Record<string, string | undefined>): Doc {
  const args = ['-f', repoPath('docker-compose.yml'), ...profiles.flatMap((p) => ['--profile', p]), 'config'];
  return parseYaml(run('docker-compose', args, env));
}

t.test('docker-compose config refuses to run without what only the operator can give', async (t) => {
  for (const name of Object.keys(OPERATOR_SAMPLES)) {
    t.throws(() => composeConfig([], { ...process.env, ...OPERATOR_SAMPLES, [name]: undefined }), new RegExp(`set ${name}`), `without ${name}`);
  }
});

for (const profiles of [[], ['demo']]) {
  t.test(`docker-compose config ${profiles.map((p) => `--profile ${p}`).join(' ') || 'without profiles'}: matches the code`, async (t) => {
    const compose = composeConfig(profiles, { ...process.env, ...OPERATOR_SAMPLES });
    const services = compose.services as Record<string, Doc>;
    const byDefault = Object.keys(services).filter((n) => !services[n].profiles);
    t.same(byDefault.sort(), [...catalogue.map((s) => s.name), 'setup', ...INFRASTRUCTURE].sort(), 'without a profile: the infrastructure, the setup job and every service');
    for (const [name, s] of Object.entries(services)) {
      if (s.profiles) t.same(s.profiles, ['demo'], `${name} belongs to the demo profile only`);
      for (const dep of Object.keys(s.depends_on ?? {})) {
        t.ok(services[dep], `${name} depends on ${dep}, which exists`);
        if (!s.profiles) t.notOk(services[dep]?.profiles, `${name} starts without a profile, so its dependency ${dep} must too`);
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
    t.ok(nats.volumes.some((v: Doc) => (typeof v === 'string' ? v.split(':')[1] === storeDir : v.target === storeDir)), `JetStream stores its files in the volume (${storeDir})`);
    const monitor = natsArgs[natsArgs.indexOf('--http_port') + 1];
    t.match(nats.healthcheck.test.join(' '), `:${monitor}/healthz`, 'the monitoring port answers the health check');

    const setup = services['setup'];
    t.same(setup.command, ['node', 'services/mesh/dist/src/setup.js'], 'the setup job runs the setup entry');
    t.equal(setup.restart, 'no', 'the setup job runs once');
    t.same(setup.depends_on, { nats: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' } }, 'the setup job waits for healthy NATS and Postgres');
    const setupEnv = setup.environment as Record<string, string>;
    t.same(compareVariables(meshSchema, Object.keys(setupEnv)), { missing: [], unread: [] }, 'the setup job gets every variable of every service, and nothing else');

    for (const entry of catalogue) {
      const s = services[entry.name];
      const what = `compose ${entry.name}`;
      t.same(s.command, ['node', entry.entry], `${what}: runs ${entry.entry}`);
      const env = s.environment as Record<string, string>;
      t.same(compareVariables(entry.schema, Object.keys(env)), { missing: [], unread: [] }, `${what}: every variable its code reads, nothing else (allowed: ${Object.keys(INFRASTRUCTURE_VARIABLES).join(', ')})`);
      let built;
      try {
        built = buildFromEnv(entry, env);
      } catch (err) {
        t.fail(`${what}: settings pass the schema: ${err instanceof ConfigError ? err.problems.join('; ') : String(err)}`);
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
        t.equal(new URL(String(built.config[variable])).hostname, host, `${what}: ${variable} points at the ${host} service`);
      }
      t.same(s.depends_on, {
        setup: { condition: 'service_completed_successfully' },
        nats: { condition: 'service_healthy' },
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
      }, `${what}: starts after healthy dependencies and the completed setup job`);
      const shutdown = Number(built.config['SHUTDOWN_TIMEOUT_MS']) / 1000;
      t.ok(seconds(s.stop_grace_period ?? '10s') > shutdown, `${what}: stop_grace_period ${s.stop_grace_period} > SHUTDOWN_TIMEOUT_MS (${shutdown} s)`);
      t.equal(s.read_only, true, `${what}: read-only root filesystem`);
      const published = (s.ports ?? []).map((p: Doc) => Number(p.target));
      t.same(published, entry.name === 'gateway' ? [built.port] : [], `${what}: ${entry.name === 'gateway' ? 'publishes its port, the only public one' : 'publishes no port'}`);
    }
  });
}
