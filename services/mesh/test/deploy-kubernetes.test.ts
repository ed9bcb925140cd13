/**
 * Renders each kustomize overlay (`kubectl kustomize`) and holds it to the code: every service has
 * its Deployment, Service, probes, ports and settings; every variable a service reads is provided
 * and nothing is provided that no service reads; secrets come from the Secret; the KEDA triggers
 * name the streams and consumers the services declare, sized against their max_ack_pending.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ConfigError, Naming, type Schema, loadConfig, streams } from '@hhb24/common';
import { PUBLIC_PATH_PREFIXES } from '@hhb24/gateway';
import {
  type BuiltService,
  type Doc,
  INFRASTRUCTURE_VARIABLES,
  SECRET_SAMPLES,
  buildFromEnv,
  catalogue,
  compareVariables,
  meshSchema,
  metricCatalogue,
  parseYaml,
  parseYamlDocuments,
  repoPath,
  run,
  secretVariables,
} from './deployment-facts.js';
import { natsUserName } from '../src/nats-users.js';

const SECRET_NAME = 'hhb24-secrets';
/** Secret variables each workload has its own value of (its NATS user's password, its database role), from hhb24-<workload>-secrets. */
const OWN_SECRETS = ['DATABASE_URL', 'NATS_PASSWORD'];
const ownSecretName = (workload: string) => `hhb24-${workload}-secrets`;
const KEDA_SCALED = ['crm-writer', 'hh-connector', 'timeline-renderer'];

interface ResolvedEnv {
  values: Record<string, string>;
  /** Where each variable comes from: `configmap:<name>`, `secret:<name>/<key>` or `literal`. */
  sources: Record<string, string>;
  problems: string[];
}

function resolveEnv(container: Doc, configMaps: Map<string, Record<string, string>>): ResolvedEnv {
  const r: ResolvedEnv = { values: {}, sources: {}, problems: [] };
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const data = configMaps.get(from.configMapRef.name);
      if (!data) r.problems.push(`ConfigMap ${from.configMapRef.name} is not in the manifests`);
      for (const [k, v] of Object.entries(data ?? {})) {
        r.values[k] = v;
        r.sources[k] = `configmap:${from.configMapRef.name}`;
      }
    } else {
      r.problems.push(
        `envFrom ${JSON.stringify(from)} hides which variables it sets: reference each secret with secretKeyRef`,
      );
    }
  }
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      r.values[e.name] = SECRET_SAMPLES[e.name] ?? 'sample';
      r.sources[e.name] = `secret:${ref.name}/${ref.key}`;
    } else if (e.value !== undefined) {
      r.values[e.name] = String(e.value);
      r.sources[e.name] = 'literal';
    } else {
      r.problems.push(`${e.name} comes from ${JSON.stringify(e.valueFrom)}, which this check cannot read`);
    }
  }
  return r;
}

function podLabelsMatch(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  return (
    !!selector &&
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([k, v]) => labels[k] === v)
  );
}

function configProblems(service: string, schema: Schema, env: Record<string, string>): string[] {
  try {
    loadConfig(service, schema, env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

/** The checks every program's settings get: complete, nothing unread, secrets from the Secrets, its own NATS user, valid. */
function checkSettings(t: Test, what: string, schema: Schema, env: ResolvedEnv, workload: string): void {
  t.same(env.problems, [], `${what}: every setting comes from a readable source`);
  const { missing, unread } = compareVariables(schema, Object.keys(env.values));
  t.same(missing, [], `${what}: every variable its code reads is provided`);
  t.same(
    unread,
    [],
    `${what}: every variable provided is read by its code (or allowed in INFRASTRUCTURE_VARIABLES)`,
  );
  const secrets = new Set(secretVariables(schema));
  const misplaced = Object.entries(env.sources)
    .filter(([name, source]) =>
      secrets.has(name)
        ? source !== `secret:${OWN_SECRETS.includes(name) ? ownSecretName(workload) : SECRET_NAME}/${name}`
        : source.startsWith('secret:'),
    )
    .map(([name, source]) => `${name} from ${source}`);
  t.same(
    misplaced,
    [],
    `${what}: ${OWN_SECRETS.join(' and ')} come from ${ownSecretName(workload)}, the other secret variables from ${SECRET_NAME}, under their own names; the rest from ConfigMaps or the manifest`,
  );
  t.equal(
    env.values['NATS_USER'],
    natsUserName(workload),
    `${what}: connects to NATS as its own user (deploy/nats/users.conf)`,
  );
  t.same(configProblems(what, schema, env.values), [], `${what}: its settings pass the schema`);
}

for (const overlay of ['staging', 'production']) {
  t.test(`overlay ${overlay}: renders and matches the code`, async (t) => {
    const docs = parseYamlDocuments(run('kubectl', ['kustomize', repoPath(`deploy/overlays/${overlay}`)]));
    const of = (kind: string): Doc[] => docs.filter((d) => d.kind === kind);
    const configMaps = new Map<string, Record<string, string>>(
      of('ConfigMap').map((c) => [c.metadata.name, c.data ?? {}]),
    );
    const deployments = new Map<string, Doc>(of('Deployment').map((d) => [d.metadata.name, d]));
    const built = new Map<string, BuiltService>();
    t.teardown(() => Promise.all([...built.values()].map((b) => b.close())));

    t.same(
      [...deployments.keys()].sort(),
      catalogue.map((s) => s.name).sort(),
      'one Deployment per service, no other',
    );
    const images = new Set(docs.flatMap((d) => podSpecOf(d)?.containers.map((c: Doc) => c.image) ?? []));
    t.equal(images.size, 1, `one image for every workload (${[...images].join(', ')})`);
    for (const image of images)
      t.match(image, /^[^:]+:(?!latest$)[\w.-]+$/, 'pinned to a tag other than latest');

    const autoscaled = new Set(
      [...of('HorizontalPodAutoscaler'), ...of('ScaledObject')].map((a) => a.spec.scaleTargetRef.name),
    );
    let sharedEnv: ResolvedEnv | undefined;
    for (const entry of catalogue) {
      const d = deployments.get(entry.name);
      if (!d) continue;
      const what = `${overlay}/${entry.name}`;
      const pod = d.spec.template.spec;
      const labels = d.spec.template.metadata.labels;
      const app = pod.containers.find((c: Doc) => c.name === 'app');
      t.ok(app, `${what}: has its container "app"`);
      t.same(app.command, ['node', entry.entry], `${what}: runs ${entry.entry}`);
      t.ok(existsSync(repoPath(entry.entry)), `${what}: ${entry.entry} is what the build produces`);

      const env = resolveEnv(app, configMaps);
      sharedEnv ??= env;
      checkSettings(t, what, entry.schema, env, entry.name);
      const service = buildFromEnv(entry, env.values);
      built.set(entry.name, service);
      t.equal(service.config['MIGRATE_ON_START'], false, `${what}: leaves migrations to the setup job`);
      // Node reads NODE_OPTIONS itself: the heap bound must leave the container room for the rest of the process.
      const oldSpaceMb = Number(/--max-old-space-size=(\d+)/.exec(env.values['NODE_OPTIONS'] ?? '')?.[1]);
      const limitMi = Number(/^(\d+)Mi$/.exec(app.resources?.limits?.memory ?? '')?.[1]);
      t.ok(
        oldSpaceMb > 0 && oldSpaceMb < limitMi / 2,
        `${what}: V8's old generation is bounded (${oldSpaceMb} MB) well inside the container's memory limit (${app.resources?.limits?.memory})`,
      );

      const http = app.ports?.find((p: Doc) => p.name === 'http');
      t.equal(
        http?.containerPort,
        service.port,
        `${what}: containerPort "http" is the port the service listens on (${entry.portVariable})`,
      );
      const ann = d.spec.template.metadata.annotations ?? {};
      t.equal(
        Number(ann['prometheus.io/port']),
        service.port,
        `${what}: metrics are scraped from the service's port`,
      );
      t.ok(
        await service.routeExists(ann['prometheus.io/path']),
        `${what}: the scrape path ${ann['prometheus.io/path']} exists`,
      );

      for (const [probe, path] of [
        ['startupProbe', '/livez'],
        ['livenessProbe', '/livez'],
        ['readinessProbe', '/readyz'],
      ] as const) {
        const get = app[probe]?.httpGet;
        t.equal(get?.path, path, `${what}: ${probe} asks ${path}`);
        t.equal(get?.port, 'http', `${what}: ${probe} asks the service's port`);
        t.ok(get && (await service.routeExists(get.path)), `${what}: ${get?.path} answers`);
      }

      const sleep = app.lifecycle?.preStop?.exec?.command;
      t.match(sleep, ['sleep', /^\d+$/], `${what}: preStop waits for the endpoints to drop the pod`);
      const drain = Number(sleep?.[1] ?? 0) + Number(service.config['SHUTDOWN_TIMEOUT_MS']) / 1000;
      t.ok(
        pod.terminationGracePeriodSeconds > drain,
        `${what}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} > preStop + SHUTDOWN_TIMEOUT_MS (${drain} s)`,
      );

      t.match(
        pod.securityContext,
        { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        `${what}: pod runs as non-root with the default seccomp profile`,
      );
      t.ok(pod.securityContext?.runAsUser > 0, `${what}: with a numeric non-root user`);
      t.match(
        app.securityContext,
        { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        `${what}: read-only root, no privilege escalation, no capabilities`,
      );
      t.ok(
        app.resources?.requests?.cpu && app.resources?.requests?.memory && app.resources?.limits?.memory,
        `${what}: CPU and memory requests, a memory limit`,
      );

      if (autoscaled.has(entry.name))
        t.equal(d.spec.replicas, undefined, `${what}: replicas are left to its autoscaler`);
      else t.ok(d.spec.replicas >= 1, `${what}: a fixed replica count`);

      const services = of('Service').filter((s) => podLabelsMatch(s.spec.selector, labels));
      t.same(
        services.map((s) => s.metadata.name),
        [entry.name],
        `${what}: one Service selects its pods`,
      );
      t.same(
        services[0]?.spec.ports.map((p: Doc) => p.targetPort),
        ['http'],
        `${what}: the Service targets its "http" port`,
      );
      const pdbs = of('PodDisruptionBudget').filter((p) =>
        podLabelsMatch(p.spec.selector.matchLabels, labels),
      );
      t.equal(pdbs.length, 1, `${what}: one PodDisruptionBudget covers its pods`);
    }

    const ingresses = of('Ingress');
    t.equal(ingresses.length, 1, 'one Ingress');
    const backends = ingresses.flatMap((i) =>
      i.spec.rules.flatMap((r: Doc) => r.http.paths.map((p: Doc) => p.backend.service)),
    );
    t.same(
      [...new Set(backends.map((b: Doc) => `${b.name}:${b.port.name}`))],
      ['gateway:http'],
      'the Ingress leads to the gateway only',
    );
    t.ok(ingresses[0]?.spec.tls?.length > 0, 'the Ingress serves TLS');
    const paths = ingresses.flatMap((i) =>
      i.spec.rules.flatMap((r: Doc) => r.http.paths.map((p: Doc) => `${p.pathType} ${p.path}`)),
    );
    t.same(
      paths.sort(),
      PUBLIC_PATH_PREFIXES.map((p) => `Prefix ${p}`).sort(),
      'the Ingress routes exactly the gateway’s public paths',
    );
    const gateway = built.get('gateway');
    for (const internal of ['/livez', '/readyz', '/metrics']) {
      t.notOk(
        PUBLIC_PATH_PREFIXES.some((p) => internal.startsWith(p)),
        `${internal} stays inside the cluster`,
      );
      t.ok(await gateway?.routeExists(internal), `${internal} exists (for the probes and Prometheus)`);
    }
    const samples: Record<string, [string, 'GET' | 'POST']> = {
      '/b24/': ['/b24/app', 'POST'],
      '/ui/': ['/ui/tab/auth', 'GET'],
      '/hh/': ['/hh/oauth/start', 'POST'],
      '/static/': ['/static/app.css', 'GET'],
    };
    for (const prefix of PUBLIC_PATH_PREFIXES)
      t.ok(
        samples[prefix] && (await gateway?.routeExists(...samples[prefix])),
        `the gateway serves ${prefix}`,
      );
    t.same(
      of('HorizontalPodAutoscaler').map((h) => `${h.spec.scaleTargetRef.kind}/${h.spec.scaleTargetRef.name}`),
      ['Deployment/gateway'],
      'a HorizontalPodAutoscaler for the gateway',
    );

    const jobs = [
      ...of('Job').map((j) => ({ kind: 'Job', doc: j })),
      ...of('CronJob').map((j) => ({ kind: 'CronJob', doc: j })),
    ];
    const commands = jobs.map(({ doc }) => podSpecOf(doc).containers[0].command.join(' ')).sort();
    t.same(
      commands,
      [
        'node services/mesh/dist/src/reseal.js',
        'node services/mesh/dist/src/reseal.js --check',
        'node services/mesh/dist/src/setup.js',
      ],
      'the setup Job and the re-seal CronJobs',
    );
    for (const { kind, doc } of jobs) {
      const what = `${overlay}/${kind} ${doc.metadata.name}`;
      const pod = podSpecOf(doc);
      t.equal(pod.restartPolicy, 'Never', `${what}: runs once per attempt`);
      checkSettings(t, what, meshSchema, resolveEnv(pod.containers[0], configMaps), 'setup');
      t.ok(
        existsSync(repoPath(pod.containers[0].command[1])),
        `${what}: ${pod.containers[0].command[1]} is what the build produces`,
      );
      t.match(pod.securityContext, { runAsNonRoot: true }, `${what}: runs as non-root`);
      t.match(pod.containers[0].securityContext, { readOnlyRootFilesystem: true }, `${what}: read-only root`);
    }
    for (const cron of of('CronJob'))
      t.equal(cron.spec.suspend, true, `${cron.metadata.name} runs only when asked`);
    const before = docs
      .filter((d) => d.metadata.labels?.['hhb24.io/phase'] === 'before-rollout')
      .map((d) => d.kind);
    for (const kind of ['ConfigMap', 'ServiceAccount', 'Job'])
      t.ok(before.includes(kind), `rollout.sh applies the ${kind}s before the services`);

    const secretKeys = new Set<string>(
      docs.flatMap((d) =>
        (podSpecOf(d)?.containers ?? []).flatMap((c: Doc) =>
          (c.env ?? [])
            .filter((e: Doc) => e.valueFrom?.secretKeyRef)
            .map((e: Doc) => `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`),
        ),
      ),
    );
    const operations = readFileSync(repoPath('docs/operations.md'), 'utf8');
    // The per-workload Secrets are made in one loop over the workloads (docs/operations.md, «Access per service»).
    const loop =
      /for w in ([\w -]+); do\n(?:[^\n]*\n){0,2}?[^\n]*create secret generic "hhb24-\$w-secrets"((?:[^\n]*\\\n)*[^\n]*)/.exec(
        operations,
      );
    for (const ref of secretKeys) {
      const [secret, key] = ref.split('/') as [string, string];
      const workload = /^hhb24-(.+)-secrets$/.exec(secret)?.[1];
      const shown =
        secret === SECRET_NAME
          ? operations.includes(`--from-literal=${key}=`)
          : !!workload &&
            !!loop &&
            loop[1]!.split(' ').includes(workload) &&
            loop[2]!.includes(`--from-literal=${key}=`);
      t.ok(shown, `docs/operations.md shows how to put ${key} into ${secret}`);
    }

    // NetworkPolicies: what each workload may receive and send.
    const policies = of('NetworkPolicy');
    const selects = (sel: Doc, labels: Record<string, string>): boolean =>
      Object.entries(sel?.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
      (sel?.matchExpressions ?? []).every((e: Doc) =>
        e.operator === 'In'
          ? e.values.includes(labels[e.key])
          : e.operator === 'NotIn'
            ? !e.values.includes(labels[e.key])
            : e.operator === 'Exists'
              ? e.key in labels
              : !(e.key in labels),
      );
    const peer = (p: Doc): string =>
      p.ipBlock
        ? `ip:${p.ipBlock.cidr}-${[...(p.ipBlock.except ?? [])].sort().join(',')}`
        : `ns:${p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] ?? JSON.stringify(p)}${p.podSelector ? `/${JSON.stringify(p.podSelector)}` : ''}`;
    const flows = (rules: Doc[] | undefined, side: 'from' | 'to'): string[] =>
      (rules ?? []).flatMap((r: Doc) =>
        (r[side] ?? [{ any: true }]).flatMap((p: Doc) =>
          (r.ports ?? [{ protocol: 'any', port: 'any' }]).map(
            (port: Doc) => `${p.any ? 'anywhere' : peer(p)} ${port.protocol ?? 'TCP'}/${port.port}`,
          ),
        ),
      );
    const natsUrl = new URL(sharedEnv?.values['NATS_URL']?.split(',')[0] ?? 'nats://missing');
    const natsNamespace = natsUrl.hostname.split('.')[1];
    const PUBLIC_HTTPS =
      'ip:0.0.0.0/0-10.0.0.0/8,100.64.0.0/10,169.254.0.0/16,172.16.0.0/12,192.168.0.0/16 TCP/443';
    const DNS = ['ns:kube-system UDP/53', 'ns:kube-system TCP/53'];
    const NATS = `ns:${natsNamespace} TCP/${natsUrl.port || 4222}`;
    const POSTGRES = 'ns:db TCP/5432';
    // «Обратная связь» by e-mail: settings mails through an SMTP server on a public address.
    const PUBLIC_SMTP = [25, 465, 587].map(
      (port) =>
        `ip:0.0.0.0/0-10.0.0.0/8,100.64.0.0/10,169.254.0.0/16,172.16.0.0/12,192.168.0.0/16 TCP/${port}`,
    );
    const REDIS = 'ns:redis TCP/6379';
    const workloads = docs.filter((d) => podSpecOf(d));
    for (const w of workloads) {
      const template = w.kind === 'CronJob' ? w.spec.jobTemplate.spec.template : w.spec.template;
      const labels = template.metadata.labels as Record<string, string>;
      const name = labels['app.kubernetes.io/name']!;
      const what = `${overlay}/${w.kind} ${w.metadata.name}`;
      const mine = policies.filter((p) => selects(p.spec.podSelector, labels));
      t.ok(
        mine.some(
          (p) =>
            p.spec.policyTypes.includes('Ingress') &&
            p.spec.policyTypes.includes('Egress') &&
            !p.spec.ingress &&
            !p.spec.egress,
        ),
        `${what}: a default-deny policy selects it (nothing in or out unless allowed)`,
      );
      const ingress = new Set(mine.flatMap((p) => flows(p.spec.ingress, 'from')));
      const egress = new Set(mine.flatMap((p) => flows(p.spec.egress, 'to')));
      const service = catalogue.find((e) => e.name === name);
      const expectedIn = service
        ? [...(name === 'gateway' ? ['ns:ingress-nginx TCP/http'] : []), 'ns:monitoring TCP/http']
        : [];
      t.same(
        [...ingress].sort(),
        expectedIn.sort(),
        `${what}: reached only ${name === 'gateway' ? 'from the ingress controller and Prometheus' : service ? 'from Prometheus (/metrics)' : 'from nowhere'}`,
      );
      const callsOut = service ? /\b(Bitrix24Client|HhClient)\b/.test(sourceOf(service.workspace)) : false;
      const expectedOut = service
        ? [
            ...DNS,
            NATS,
            POSTGRES,
            REDIS,
            ...(callsOut ? [PUBLIC_HTTPS] : []),
            ...(name === 'settings' ? PUBLIC_SMTP : []),
          ]
        : name === 'setup'
          ? [...DNS, NATS, POSTGRES]
          : [...DNS, POSTGRES];
      t.same(
        [...egress].sort(),
        expectedOut.sort(),
        `${what}: sends only to ${service ? `NATS, Postgres, Redis${callsOut ? ' and HTTPS on public addresses (it calls hh.ru or portals)' : ''}${name === 'settings' ? ', SMTP on public addresses' : ''}` : name === 'setup' ? 'NATS and Postgres' : 'Postgres'} (and DNS)`,
      );
    }
    t.ok(
      policies.every(
        (p) =>
          p.spec.ingress === undefined ||
          p.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === 'gateway' ||
          p.metadata.name.includes('metrics'),
      ),
      'only the gateway’s policy and the metrics policy let anything in',
    );

    // KEDA: every trigger against the code's consumers.
    const scaled = of('ScaledObject');
    t.same(
      scaled.map((s) => s.metadata.name).sort(),
      KEDA_SCALED,
      'KEDA scales crm-writer, hh-connector and timeline-renderer',
    );
    const natsHost = new URL(sharedEnv?.values['NATS_URL']?.split(',')[0] ?? 'nats://missing').hostname;
    const naming = new Naming(sharedEnv?.values['NATS_PREFIX'] ?? '');
    for (const so of scaled) {
      const name = so.spec.scaleTargetRef.name;
      const what = `${overlay}/ScaledObject ${so.metadata.name}`;
      t.ok(deployments.has(name), `${what}: scales the Deployment ${name}`);
      const service = built.get(name);
      const sizing = JSON.parse(so.metadata.annotations?.['hhb24.io/consumer-sizing'] ?? '{}') as Record<
        string,
        { maxAckPending: number; concurrency: number }
      >;
      const triggers = so.spec.triggers.map((tr: Doc) => tr.metadata);
      for (const tr of so.spec.triggers) {
        const m = tr.metadata;
        const key = `${m.stream}/${m.consumer}`;
        t.equal(tr.type, 'nats-jetstream', `${what}: ${key} is a JetStream lag trigger`);
        t.equal(
          m.natsServerMonitoringEndpoint.split(':')[0],
          natsHost,
          `${what}: ${key} reads the NATS the services use (${natsHost})`,
        );
        t.ok(
          streams.some((s) => naming.stream(s.name) === m.stream),
          `${what}: stream ${m.stream} is one the mesh creates`,
        );
        t.ok(Number(m.lagThreshold) > 0, `${what}: ${key} has a lag threshold`);
        const size = sizing[key];
        t.ok(size, `${what}: ${key} states its sizing (hhb24.io/consumer-sizing)`);
        if (size)
          t.ok(
            so.spec.maxReplicaCount * size.concurrency <= size.maxAckPending,
            `${what}: ${so.spec.maxReplicaCount} replicas × ${size.concurrency} in flight fit max_ack_pending ${size.maxAckPending}`,
          );
        const spec = service?.consumers.find(
          (c) => naming.stream(c.stream) === m.stream && c.durable === m.consumer,
        );
        const todo = service?.consumers.length === 0 ? `${name} declares no consumers yet` : false;
        t.ok(spec, `${what}: ${name} declares the consumer ${key}`, { todo });
        if (spec && size)
          t.equal(
            size.maxAckPending,
            spec.maxAckPending,
            `${what}: sized for the consumer's max_ack_pending`,
          );
      }
      for (const c of service?.consumers ?? []) {
        t.ok(
          triggers.some((m: Doc) => m.stream === naming.stream(c.stream) && m.consumer === c.durable),
          `${what}: its consumer ${c.stream}/${c.durable} has a trigger`,
        );
      }
    }
  });
}

t.test('the alert rules name only metrics, labels and streams that exist', async (t) => {
  const rules = parseYaml(
    readFileSync(repoPath('deploy/monitoring/alert-rules.yaml'), 'utf8'),
  ).groups.flatMap((g: Doc) => g.rules);
  const metrics = await metricCatalogue();
  t.ok(rules.length >= 5, `${rules.length} alerts`);
  for (const rule of rules) {
    t.ok(
      rule.alert && rule.expr && rule.labels?.severity && rule.annotations?.summary,
      `${rule.alert}: expression, severity and summary`,
    );
    const expr = String(rule.expr);
    for (const [, name, selector] of expr.matchAll(/\b(hhb24_[a-z_]+)(\{[^}]*\})?/g)) {
      t.ok(metrics.has(name!), `${rule.alert}: ${name} is exported`);
      for (const [, label] of (selector ?? '').matchAll(/(\w+)\s*[=!~]+/g)) {
        t.ok(metrics.get(name!)?.has(label!), `${rule.alert}: ${name} has the label ${label}`);
      }
    }
    const own = [...expr.matchAll(/\b(hhb24_[a-z_]+)/g)].map((m) => m[1]!);
    if (own.length > 0 && !/\b(jetstream|kube)_/.test(expr)) {
      const labels = new Set(own.flatMap((n) => [...(metrics.get(n) ?? [])]));
      for (const [, list] of expr.matchAll(/\b(?:by|on)\s*\(([^)]*)\)/g)) {
        for (const label of list!.split(',').map((l) => l.trim()))
          t.ok(labels.has(label), `${rule.alert}: groups by ${label}, a label of its metrics`);
      }
    }
    for (const [, alternatives] of expr.matchAll(/stream_name=~"\(\.\+_\)\?\(([^)]*)\)"/g)) {
      t.same(
        alternatives!.split('|').sort(),
        streams.map((s) => s.name).sort(),
        `${rule.alert}: names the mesh's streams`,
      );
    }
  }
});

t.test('rollout.sh passes shellcheck', async (t) => {
  t.equal(run('shellcheck', [repoPath('deploy/rollout.sh')]), '', 'no findings');
});

t.test('the checks catch a variable the code reads that no manifest provides, and the reverse', async (t) => {
  const gateway = catalogue.find((s) => s.name === 'gateway')!;
  const grown = { ...gateway.schema, GATEWAY_PUBLIC_URL: gateway.schema['HTTP_HOST']! };
  const provided = [...Object.keys(gateway.schema), 'HEALTH_PORT', 'LEFTOVER_SETTING'];
  t.same(compareVariables(grown, provided), {
    missing: ['GATEWAY_PUBLIC_URL'],
    unread: ['LEFTOVER_SETTING'],
  });
  t.ok(
    Object.values(INFRASTRUCTURE_VARIABLES).every((reason) => reason.length > 20),
    'every allowed extra variable says why',
  );
});

/** A workspace's source code (which services call hh.ru or portals). */
function sourceOf(workspace: string): string {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) =>
      statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : [],
    );
  return walk(repoPath(`${workspace}/src`))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
}

function podSpecOf(doc: Doc): Doc {
  if (doc.kind === 'CronJob') return doc.spec.jobTemplate.spec.template.spec;
  if (doc.kind === 'Deployment' || doc.kind === 'Job') return doc.spec.template.spec;
  return undefined;
}
