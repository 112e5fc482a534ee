/**
 * Checks of the deployment files against each other and against the code:
 * docker-compose.yml (and `docker-compose config`), the Kubernetes manifests in
 * deploy/k8s/, the Dockerfile, the Prometheus configuration and alert rules
 * (`promtool check` and `promtool test rules`) and the Grafana dashboard.
 *
 * Needs `promtool` (Debian's `prometheus`), `docker-compose` (Debian's
 * `docker-compose`) and `kubectl` (Debian's `kubernetes-client`);
 * scripts/setup.sh --tests installs them. Without promtool or docker-compose the
 * tests fail and say so; without kubectl the kustomize test is skipped, or fails
 * under CI=true.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { parse, parseAllDocuments } from 'yaml';
import { EXPERIMENT_GAUGE_NAMES } from '../app/experiment-gauges.js';
import { CONFIG_SCHEMA, loadConfig } from '../runtime/config.js';
import { processMetrics } from '../runtime/observability/process-metrics.js';
import { missingService } from '../test/skips.js';
import {
  COMPOSE_TEST_SECRETS,
  composeEnv,
  type Doc,
  interpolate,
  K8S_TEST_SECRETS,
  k8sContainerEnv,
  MissingVariableError,
  readCompose,
} from './shipped-env.js';

// dist/deploy/deploy.test.js → the repository root.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const at = (...parts: string[]) => join(ROOT, ...parts);
const read = (...parts: string[]) => readFileSync(at(...parts), 'utf8');

const KNOWN_ENV = new Set<string>(Object.values(CONFIG_SCHEMA).map((s) => s.env));
const VERSION = (JSON.parse(read('package.json')) as { version: string }).version;
const DATA_DIR = '/var/lib/recstream';
const METRICS_PORT_FLAG = '--metrics-port';
const PROBE_PATHS = ['/healthz', '/readyz'];

// ---------------------------------------------------------------------------
// Tools

function run(command: string, args: string[], what: string, install: string): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8' });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    assert.fail(`${command} is not installed, so ${what} cannot be checked: ${install}`);
  if (result.error) throw result.error;
  return result;
}

function promtool(args: string[]): SpawnSyncReturns<string> {
  return run(
    'promtool',
    args,
    'the Prometheus rules and configuration',
    "apt-get install -y prometheus (Debian's prometheus package ships promtool; scripts/setup.sh --tests installs it)",
  );
}

function assertOk(result: SpawnSyncReturns<string>, what: string): void {
  assert.equal(result.status, 0, `${what} failed:\n${result.stdout}${result.stderr}`);
}

// ---------------------------------------------------------------------------
// Images

/** A version tag (3.9.1, v2.53.4, 7.4.2-bookworm, 0.1.0-cuda) or a digest; never latest. */
function assertPinned(image: string, where: string): void {
  assert.ok(typeof image === 'string' && image.length > 0, `${where}: no image`);
  const digest = /@sha256:[0-9a-f]{64}$/.test(image);
  const nameAndTag = image.replace(/@sha256:[0-9a-f]{64}$/, '');
  const slash = nameAndTag.lastIndexOf('/');
  const colon = nameAndTag.lastIndexOf(':');
  const tag = colon > slash ? nameAndTag.slice(colon + 1) : undefined;
  assert.notEqual(tag, 'latest', `${where}: ${image} uses the latest tag`);
  assert.ok(
    digest || (tag !== undefined && /^v?\d+\.\d+\.\d+([-.][A-Za-z0-9.-]+)?$/.test(tag)),
    `${where}: ${image} is not pinned to an exact version (x.y.z) or a digest`,
  );
}

/** The recstream image built from the root Dockerfile carries the package version. */
function assertRecstreamImage(image: string, where: string): void {
  assert.match(
    image,
    new RegExp(`^recstream:${VERSION.replace(/\./g, '\\.')}(-cuda)?$`),
    `${where}: the recstream image should be recstream:${VERSION} (or -cuda), got ${image}`,
  );
}

// ---------------------------------------------------------------------------
// Configuration variables

/** RECSTREAM_* and OTEL_* variables must be ones the code reads. */
function assertKnownEnv(name: string, where: string): void {
  if (name.startsWith('RECSTREAM_') || name.startsWith('OTEL_'))
    assert.ok(KNOWN_ENV.has(name), `${where}: ${name} is not a setting of runtime/config.ts (CONFIG_SCHEMA)`);
}

/** Each RECSTREAM_* / OTEL_* value is one loadConfig accepts (e.g. RECSTREAM_DEVICE=cuda, RECSTREAM_PARTITIONS=4). */
function assertValidConfig(env: Record<string, string>, where: string): void {
  for (const name of Object.keys(env)) assertKnownEnv(name, where);
  assert.doesNotThrow(() => loadConfig(env), `${where}: the configuration does not load`);
}

function deployFiles(dir = at('deploy')): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...deployFiles(path));
    else if (!entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Metrics defined in the code

interface MetricDef {
  readonly type: string;
  readonly labels: readonly string[];
  readonly file: string;
}

const SOURCE_DIRS = [
  'runtime',
  'processors',
  'topologies',
  'responders',
  'trainer',
  'indexer',
  'inference',
  'evaluation',
  'cli',
  'sim',
];

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') out.push(...sourceFiles(path));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const SOURCES = SOURCE_DIRS.flatMap((d) => sourceFiles(at(d))).map((file) => ({
  file,
  text: readFileSync(file, 'utf8'),
}));

/** Every prom-client metric the code creates: `new Counter({ name: 'recstream_…', labelNames: […] })`. */
const METRICS: ReadonlyMap<string, MetricDef> = (() => {
  const out = new Map<string, MetricDef>();
  const creation =
    /new (Counter|Gauge|Histogram|Summary)(?:<[^>]*>)?\(\{\s*name:\s*'(recstream_[a-z0-9_]+)'/g;
  for (const { file, text } of SOURCES) {
    for (const m of text.matchAll(creation)) {
      const end = text.indexOf('})', m.index);
      const body = text.slice(m.index, end === -1 ? undefined : end);
      const labels = /labelNames:\s*\[([^\]]*)\]/.exec(body)?.[1] ?? '';
      out.set(m[2]!, {
        type: m[1]!,
        labels: [...labels.matchAll(/'([^']+)'/g)].map((l) => l[1]!),
        file: file.slice(ROOT.length),
      });
    }
  }
  // Named in a loop (`recstream_experiment_${name}`), so taken from the module rather than the text.
  for (const name of EXPERIMENT_GAUGE_NAMES)
    out.set(name, { type: 'Gauge', labels: ['experiment', 'variant'], file: 'app/experiment-gauges.ts' });
  // prom-client's default process set, which every /metrics exports beside recstream's own.
  const defaults = processMetrics(new Registry()).registry;
  for (const metric of defaults.getMetricsAsArray()) {
    const { name, labelNames } = metric as unknown as { name: string; labelNames: string[] };
    out.set(name, {
      type: metric.constructor.name,
      labels: labelNames,
      file: 'runtime/observability/process-metrics.ts',
    });
  }
  return out;
})();

/** Label values the code writes: every single-quoted string literal in the sources. */
const STRING_LITERALS: ReadonlySet<string> = new Set(
  SOURCES.flatMap(({ text }) => [...text.matchAll(/'([^'\\\n]{1,64})'/g)].map((m) => m[1]!)),
);

/** Prometheus' own series a rule or panel may use. */
const PROMETHEUS_SERIES = new Set(['up']);
const TARGET_LABELS = new Set(['job', 'instance']);

/** The metric a series name belongs to: histogram `_bucket/_sum/_count` → the histogram. */
function metricOf(series: string): { name: string; def: MetricDef | undefined; suffix: string } {
  const direct = METRICS.get(series);
  if (direct) return { name: series, def: direct, suffix: '' };
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  if (m) {
    const def = METRICS.get(m[1]!);
    if (
      def &&
      (def.type === 'Histogram' || def.type === 'Summary') &&
      !(def.type === 'Summary' && m[2] === 'bucket')
    )
      return { name: m[1]!, def, suffix: m[2]! };
  }
  return { name: series, def: undefined, suffix: '' };
}

/** Checks every series a PromQL expression names, with the labels and values it matches on. */
function assertExprMetrics(expr: string, where: string): string[] {
  const named: string[] = [];
  for (const m of expr.matchAll(/\b((?:recstream|nodejs|process)_[a-z0-9_]+)\b/g)) {
    const { name, def } = metricOf(m[1]!);
    assert.ok(
      def,
      `${where}: ${m[1]} is not a metric the code defines (no new Counter/Gauge/Histogram named ${name})`,
    );
    named.push(m[1]!);
  }
  for (const m of expr.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}/g)) {
    const series = m[1]!;
    const { def, suffix } = metricOf(series);
    if (!def) {
      assert.ok(PROMETHEUS_SERIES.has(series), `${where}: ${series} is neither a recstream metric nor up`);
      continue;
    }
    for (const matcher of m[2]!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
      const [, label, , value] = matcher as unknown as [string, string, string, string];
      const allowed = new Set([...def.labels, ...TARGET_LABELS, ...(suffix === 'bucket' ? ['le'] : [])]);
      assert.ok(
        allowed.has(label),
        `${where}: ${series} has no label ${label} (its labels: ${def.labels.join(', ')})`,
      );
      if (def.labels.includes(label))
        for (const alternative of value.split('|'))
          assert.ok(
            STRING_LITERALS.has(alternative),
            `${where}: ${series}{${label}="${alternative}"}: the code never writes '${alternative}'`,
          );
    }
  }
  return named;
}

// ---------------------------------------------------------------------------
// docker-compose.yml

const COMPOSE_TEXT = read('docker-compose.yml');
// As docker-compose reads it once .env holds the secrets .env.example lists (stand-ins here).
const COMPOSE: Doc = readCompose();
const SERVICES: Record<string, Doc> = COMPOSE.services;
const envOf = composeEnv;

function definedEnv(env: Record<string, string | null>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== null));
}

const isRecstream = (service: Doc) =>
  typeof service.image === 'string' && service.image.startsWith('recstream:');

function flagValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i === -1 ? undefined : args[i + 1];
}

/** The port a recstream role serves /healthz and /metrics on. */
function recstreamPort(args: readonly string[], env: Record<string, string>): number {
  const role = args[0] === 'recstream' ? args[1] : undefined;
  if (role === 'serve') return loadConfig(env).httpPort;
  const port = flagValue(args, METRICS_PORT_FLAG);
  assert.ok(port, `recstream ${role} has no ${METRICS_PORT_FLAG}: nothing serves its /healthz and /metrics`);
  return Number(port);
}

const COLLECTOR: Doc = parse(read('deploy/otel/collector.yaml'));

/** The ports a compose service listens on, from its own configuration. */
function listenPorts(name: string): number[] {
  const service = SERVICES[name];
  assert.ok(service, `no compose service ${name}`);
  if (isRecstream(service)) return [recstreamPort(service.command, definedEnv(envOf(service)))];
  if (name === 'prometheus') return [9090];
  if (name === 'otel-collector') {
    const receivers = COLLECTOR.receivers.otlp.protocols;
    return [
      COLLECTOR.service.telemetry.metrics.readers[0].pull.exporter.prometheus.port,
      ...[receivers.grpc.endpoint, receivers.http.endpoint].map((e: string) => Number(e.split(':').pop())),
    ];
  }
  if (name === 'redis') return [6379];
  if (name === 'grafana') return [3000];
  if (name === 'kafka') {
    const listeners: string = envOf(service).KAFKA_ADVERTISED_LISTENERS ?? '';
    return listeners.split(',').map((l) => Number(l.split(':').pop()));
  }
  if (name === 'schema-registry') return [Number(new URL(envOf(service).SCHEMA_REGISTRY_LISTENERS!).port)];
  return assert.fail(`listenPorts: unknown service ${name}`);
}

function healthcheckText(service: Doc): string {
  const t = service.healthcheck?.test;
  return Array.isArray(t) ? t.join(' ') : String(t ?? '');
}

describe('docker-compose.yml', () => {
  /** `docker-compose config -q` (or Docker's Compose v2 plugin) with the secrets given, or none. */
  function composeConfig(secrets: Record<string, string>): SpawnSyncReturns<string> {
    const env: NodeJS.ProcessEnv = { ...process.env, ...secrets };
    for (const name of Object.keys(COMPOSE_TEST_SECRETS)) if (!(name in secrets)) delete env[name];
    // An empty project directory for .env: the developer's own .env must not fill the secrets in.
    const project = mkdtempSync(join(tmpdir(), 'recstream-compose-'));
    const options = { cwd: ROOT, encoding: 'utf8' as const, env };
    const file = ['--project-directory', project, '-f', at('docker-compose.yml')];
    try {
      const result = spawnSync('docker-compose', [...file, 'config', '-q'], options);
      if ((result.error as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT') return result;
      const plugin = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
      if (plugin.status !== 0)
        assert.fail(
          "docker-compose is not installed, so docker-compose.yml cannot be validated: apt-get install -y docker-compose (Debian's docker-compose package; scripts/setup.sh --tests installs it)",
        );
      return spawnSync('docker', ['compose', ...file, 'config', '-q'], options);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  }

  test('docker-compose config -q accepts it once the secrets are set', () => {
    assertOk(composeConfig({ ...COMPOSE_TEST_SECRETS }), 'docker-compose config -q');
  });

  test('docker-compose refuses to start while a secret of .env.example is unset, naming it', () => {
    const example = read('.env.example');
    for (const name of Object.keys(COMPOSE_TEST_SECRETS)) {
      assert.match(example, new RegExp(`^${name}=$`, 'm'), `.env.example lists ${name}, empty`);
      const { [name]: _, ...others } = COMPOSE_TEST_SECRETS;
      const result = composeConfig(others);
      assert.notEqual(result.status, 0, `docker-compose config without ${name}`);
      assert.match(result.stderr, new RegExp(`set ${name}`), `the refusal names ${name}`);
      assert.throws(
        () => interpolate(COMPOSE_TEXT, { ...others, [name]: '' }),
        (e: unknown) => e instanceof MissingVariableError && e.variable === name,
      );
    }
    for (const m of COMPOSE_TEXT.matchAll(/\$\{([A-Z_]+)[:?}]/g))
      assert.ok(
        m[1]! in COMPOSE_TEST_SECRETS,
        `docker-compose.yml reads \${${m[1]}}, which .env.example does not list`,
      );
    const ignored = (file: string) =>
      read(file)
        .split('\n')
        .map((l) => l.trim());
    assert.ok(ignored('.gitignore').includes('.env'), '.gitignore keeps .env out of git');
    assert.ok(ignored('.dockerignore').includes('.env'), '.dockerignore keeps .env out of the image');
  });

  test('every published port is bound to 127.0.0.1', () => {
    for (const [name, service] of Object.entries(SERVICES))
      for (const port of (service.ports ?? []) as (string | Doc)[]) {
        const hostIp =
          typeof port === 'string' ? port.split(':').length === 3 && port.split(':')[0] : port.host_ip;
        assert.equal(
          hostIp,
          '127.0.0.1',
          `service ${name}: port ${JSON.stringify(port)} is published on every interface`,
        );
      }
  });

  test("Kafka's PLAINTEXT listener stays inside the compose network; only the loopback HOST listener is published", () => {
    const kafka = envOf(SERVICES.kafka);
    const listeners = new Map(
      kafka.KAFKA_LISTENERS!.split(',').map((l) => [l.split('://')[0], Number(l.split(':').pop())]),
    );
    const published = (SERVICES.kafka.ports as string[]).map((p) => Number(p.split(':')[2]));
    assert.ok(!published.includes(listeners.get('PLAINTEXT')!), 'PLAINTEXT is not published');
    assert.ok(!published.includes(listeners.get('CONTROLLER')!), 'CONTROLLER is not published');
    assert.deepEqual(published, [listeners.get('HOST')]);
    assert.match(kafka.KAFKA_ADVERTISED_LISTENERS!, /HOST:\/\/localhost:/);
  });

  test('Redis requires the password recstream connects with', () => {
    const redis = SERVICES.redis;
    const command: string[] = redis.command;
    const password = command[command.indexOf('--requirepass') + 1];
    assert.ok(command.includes('--requirepass') && password, 'redis-server runs with --requirepass');
    assert.equal(password, COMPOSE_TEST_SECRETS.REDIS_PASSWORD, 'the password comes from REDIS_PASSWORD');
    assert.equal(envOf(redis).REDISCLI_AUTH, password, 'the health check authenticates');
    for (const [name, service] of Object.entries(SERVICES)) {
      if (!isRecstream(service)) continue;
      const url = new URL(loadConfig(definedEnv(envOf(service))).redisUrl!);
      assert.equal(
        decodeURIComponent(url.password),
        password,
        `service ${name}: RECSTREAM_REDIS_URL carries the password`,
      );
    }
  });

  test('Grafana: no anonymous access, no sign-up, an admin password from GRAFANA_ADMIN_PASSWORD', () => {
    const grafana = envOf(SERVICES.grafana);
    assert.equal(grafana.GF_AUTH_ANONYMOUS_ENABLED, 'false');
    assert.equal(grafana.GF_USERS_ALLOW_SIGN_UP, 'false');
    assert.equal(grafana.GF_SECURITY_ADMIN_PASSWORD, COMPOSE_TEST_SECRETS.GRAFANA_ADMIN_PASSWORD);
    assert.ok(!('GF_AUTH_ANONYMOUS_ORG_ROLE' in grafana));
  });

  test('the responders, listening beyond loopback, get the JWT secret that configures auth', () => {
    for (const [name, service] of Object.entries(SERVICES)) {
      if (!isRecstream(service) || service.command[1] !== 'serve') continue;
      const config = loadConfig(definedEnv(envOf(service)));
      assert.equal(config.httpHost, '0.0.0.0');
      assert.equal(
        config.jwtSecret,
        COMPOSE_TEST_SECRETS.RECSTREAM_JWT_SECRET,
        `service ${name}: RECSTREAM_JWT_SECRET`,
      );
    }
  });

  test('the services the platform needs are there', () => {
    for (const name of [
      'kafka',
      'schema-registry',
      'redis',
      'processor-0',
      'processor-1',
      'materializer',
      'trainer',
      'trainer-gpu',
      'indexer',
      'responder',
      'prometheus',
      'grafana',
      'otel-collector',
    ])
      assert.ok(SERVICES[name], `no service ${name}`);
    assert.match(envOf(SERVICES.kafka).KAFKA_PROCESS_ROLES ?? '', /controller/, 'Kafka runs in KRaft mode');
    assert.ok(Number(SERVICES.responder.deploy?.replicas) >= 2, 'responders run as replicas');
  });

  test('every image is pinned; recstream services use the image of the root Dockerfile', () => {
    for (const [name, service] of Object.entries(SERVICES)) {
      assertPinned(service.image, `service ${name}`);
      if (isRecstream(service)) {
        assertRecstreamImage(service.image, `service ${name}`);
        assert.ok(service.build, `service ${name}: no build section, so its image is never built`);
        const target = service.build.target;
        assert.equal(
          service.image.endsWith('-cuda'),
          target === 'cuda',
          `service ${name}: image tag and build target disagree`,
        );
      }
    }
  });

  test('every service has a health check', () => {
    for (const [name, service] of Object.entries(SERVICES)) {
      assert.ok(service.healthcheck && !service.healthcheck.disable, `service ${name} has no healthcheck`);
      assert.ok(healthcheckText(service).length > 0, `service ${name}: empty healthcheck test`);
    }
  });

  test('every RECSTREAM_* variable is a known setting with a valid value', () => {
    for (const [name, service] of Object.entries(SERVICES)) {
      const env = envOf(service);
      for (const key of Object.keys(env)) assertKnownEnv(key, `service ${name}`);
      if (isRecstream(service)) assertValidConfig(definedEnv(env), `service ${name}`);
      assert.equal(env.RECSTREAM_DATA_DIR ?? DATA_DIR, DATA_DIR, `service ${name}: data dir`);
    }
  });

  test('recstream roles: health checks, ports and volumes agree with their commands', () => {
    const processorVolumes = new Set<string>();
    for (const [name, service] of Object.entries(SERVICES)) {
      if (!isRecstream(service)) continue;
      const args: string[] = service.command;
      assert.equal(args[0], 'recstream', `service ${name}: command should start with recstream`);
      const env = definedEnv(envOf(service));
      const port = recstreamPort(args, env);
      assert.ok(
        healthcheckText(service).includes(`127.0.0.1:${port}/healthz`),
        `service ${name}: its healthcheck should ask 127.0.0.1:${port}/healthz`,
      );
      const volumes: string[] = service.volumes ?? [];
      const mounts = new Map(volumes.map((v) => [v.split(':')[1], v.split(':')[0]]));
      const role = args[1];
      if (role === 'serve') {
        assert.equal(env.RECSTREAM_HTTP_HOST, '0.0.0.0', `service ${name}: must listen beyond loopback`);
        for (const p of service.ports ?? [])
          assert.equal(
            Number(String(p).split(':').pop()),
            port,
            `service ${name}: ports ${p} ≠ RECSTREAM_HTTP_PORT`,
          );
      }
      if (['serve', 'train', 'index'].includes(role!))
        assert.equal(
          mounts.get(`${DATA_DIR}/artifacts`),
          'artifacts',
          `service ${name}: shared artifacts volume`,
        );
      if (role === 'process') {
        const volume = mounts.get(DATA_DIR);
        assert.ok(volume, `service ${name}: processor state needs its own volume at ${DATA_DIR}`);
        assert.ok(
          !processorVolumes.has(volume),
          `service ${name}: volume ${volume} shared with another processor`,
        );
        processorVolumes.add(volume);
      }
      for (const dependency of Object.keys(service.depends_on ?? {}))
        assert.ok(SERVICES[dependency], `service ${name} depends on unknown ${dependency}`);
    }
  });

  test('named volumes are declared and bind mounts exist', () => {
    for (const [name, service] of Object.entries(SERVICES))
      for (const volume of (service.volumes ?? []) as string[]) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('.') || source.startsWith('/'))
          assert.ok(existsSync(at(source)), `service ${name}: bind mount ${source} does not exist`);
        else
          assert.ok(source in (COMPOSE.volumes ?? {}), `service ${name}: volume ${source} is not declared`);
      }
  });

  test('processor instances split the partitions by the StatefulSet formula', () => {
    const processors = Object.entries(SERVICES)
      .filter(([, s]) => isRecstream(s) && s.command[1] === 'process')
      .sort(([a], [b]) => a.localeCompare(b));
    assert.ok(processors.length >= 2, 'at least two processor instances');
    const partitions = loadConfig(definedEnv(envOf(processors[0]![1]))).partitions;
    const seen = new Set<number>();
    processors.forEach(([name, service], ordinal) => {
      const list = flagValue(service.command, '--partitions');
      assert.ok(list, `service ${name}: no --partitions`);
      assert.equal(
        list,
        partitionsFor(ordinal, processors.length, partitions),
        `service ${name}: --partitions should follow deploy/processor-partitions.sh for ordinal ${ordinal}`,
      );
      for (const p of list.split(',').map(Number)) {
        assert.ok(!seen.has(p), `partition ${p} runs on two instances`);
        seen.add(p);
      }
    });
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      Array.from({ length: partitions }, (_, i) => i),
      'every partition runs on one instance',
    );
  });

  test('servers named in the configuration are services listening on those ports', () => {
    for (const [name, service] of Object.entries(SERVICES)) {
      if (!isRecstream(service)) continue;
      const config = loadConfig(definedEnv(envOf(service)));
      for (const broker of config.kafkaBrokers ?? []) {
        const [host, port] = broker.split(':');
        assert.ok(SERVICES[host!], `service ${name}: broker ${broker} is not a service`);
        assert.ok(
          listenPorts(host!).includes(Number(port)),
          `service ${name}: ${broker} is not a listener of ${host}`,
        );
      }
      for (const url of [
        config.schemaRegistryUrl,
        config.redisUrl,
        envOf(service).OTEL_EXPORTER_OTLP_ENDPOINT,
      ]) {
        assert.ok(url, `service ${name}: schema registry, Redis and OTLP endpoint are set`);
        const u = new URL(url);
        assert.ok(SERVICES[u.hostname], `service ${name}: ${url} is not a service`);
        const port = Number(u.port || (u.protocol === 'redis:' ? 6379 : 80));
        assert.ok(
          listenPorts(u.hostname).includes(port),
          `service ${name}: ${u.hostname} does not listen on ${port}`,
        );
      }
    }
  });

  test('the GPU trainer reserves a GPU and is opt-in; the default trainer runs on the CPU', () => {
    const gpu = SERVICES['trainer-gpu'];
    const devices = gpu.deploy?.resources?.reservations?.devices ?? [];
    assert.ok(
      devices.some((d: Doc) => d.driver === 'nvidia' && (d.capabilities ?? []).includes('gpu')),
      'trainer-gpu reserves an NVIDIA GPU',
    );
    assert.deepEqual(gpu.profiles, ['gpu']);
    assert.equal(envOf(gpu).RECSTREAM_DEVICE, 'cuda');
    assert.equal(envOf(SERVICES.trainer).RECSTREAM_DEVICE, 'cpu');
    assert.equal(SERVICES.trainer.profiles, undefined);
  });

  test('Prometheus and Grafana are wired to the files in deploy/', () => {
    const prometheus = SERVICES.prometheus;
    assert.ok(prometheus.volumes.includes('./deploy/prometheus:/etc/prometheus:ro'));
    assert.ok(prometheus.command.includes('--config.file=/etc/prometheus/prometheus.yml'));
    const grafana = SERVICES.grafana;
    const dashboardMount = (grafana.volumes as string[]).find((v) =>
      v.startsWith('./deploy/grafana/recstream.json:'),
    );
    assert.ok(dashboardMount, 'the dashboard is mounted into Grafana');
    assert.ok(grafana.volumes.includes('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro'));
    const provider: Doc = parse(read('deploy/grafana/provisioning/dashboards/recstream.yml'));
    const target = dashboardMount.split(':')[1]!;
    assert.equal(
      target,
      `${provider.providers[0].options.path}/recstream.json`,
      'the provider reads the mounted dashboard',
    );
    const datasource: Doc = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml'))
      .datasources[0];
    const url = new URL(datasource.url);
    assert.ok(
      listenPorts(url.hostname).includes(Number(url.port)),
      `Grafana's data source ${datasource.url}`,
    );
    const dashboard = JSON.parse(read('deploy/grafana/recstream.json'));
    const variable = dashboard.templating.list.find((v: Doc) => v.name === 'datasource');
    assert.equal(
      variable.current.value,
      datasource.uid,
      'the dashboard defaults to the provisioned data source',
    );
    const collector = SERVICES['otel-collector'];
    assert.ok(collector.volumes.includes('./deploy/otel/collector.yaml:/etc/otelcol-contrib/config.yaml:ro'));
  });
});

// ---------------------------------------------------------------------------
// Processor partitions (deploy/processor-partitions.sh)

function partitionsFor(ordinal: number, replicas: number, partitions: number): string {
  const result = spawnSync('sh', [at('deploy/processor-partitions.sh'), '--print'], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      PROCESSOR_ORDINAL: String(ordinal),
      PROCESSOR_REPLICAS: String(replicas),
      RECSTREAM_PARTITIONS: String(partitions),
    },
  });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim();
}

describe('deploy/processor-partitions.sh', () => {
  test('every partition runs on exactly one instance, for any instance count up to the partitions', () => {
    for (let partitions = 1; partitions <= 8; partitions++)
      for (let replicas = 1; replicas <= partitions; replicas++) {
        const owner = new Map<number, number>();
        for (let ordinal = 0; ordinal < replicas; ordinal++)
          for (const p of partitionsFor(ordinal, replicas, partitions).split(',').map(Number)) {
            assert.equal(owner.get(p), undefined, `partition ${p} twice (${replicas} of ${partitions})`);
            assert.equal(p % replicas, ordinal, 'p mod N = ordinal');
            owner.set(p, ordinal);
          }
        assert.equal(
          owner.size,
          partitions,
          `${replicas} instances of ${partitions} partitions cover them all`,
        );
      }
  });

  test('the ordinal comes from the host name; bad settings stop it with a message', () => {
    const script = at('deploy/processor-partitions.sh');
    const runWith = (env: Record<string, string>) =>
      spawnSync('sh', [script, '--print'], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
    const byHost = runWith({
      HOSTNAME: 'recstream-processor-1',
      PROCESSOR_REPLICAS: '2',
      RECSTREAM_PARTITIONS: '4',
    });
    assert.equal(byHost.stdout.trim(), '1,3');
    for (const [env, message] of [
      [{ HOSTNAME: 'p-0' }, /PROCESSOR_REPLICAS/],
      [{ HOSTNAME: 'p-2', PROCESSOR_REPLICAS: '2' }, /not below PROCESSOR_REPLICAS=2/],
      [{ HOSTNAME: 'p-4', PROCESSOR_REPLICAS: '5', RECSTREAM_PARTITIONS: '4' }, /no partition/],
      [{ HOSTNAME: 'nohyphen', PROCESSOR_REPLICAS: '2' }, /no ordinal/],
    ] as const) {
      const result = runWith(env);
      assert.equal(result.status, 64, JSON.stringify(env));
      assert.match(result.stderr, message);
    }
    accessSync(script, constants.X_OK);
  });
});

// ---------------------------------------------------------------------------
// Kubernetes

interface Manifest {
  readonly file: string;
  readonly doc: Doc;
}

const K8S_FILES = readdirSync(at('deploy/k8s')).filter((f) => f.endsWith('.yaml'));
const K8S: Manifest[] = K8S_FILES.flatMap((file) =>
  parseAllDocuments(read('deploy/k8s', file)).map((d) => {
    assert.equal(d.errors.length, 0, `deploy/k8s/${file}: ${d.errors.join('; ')}`);
    return { file, doc: d.toJS() as Doc };
  }),
).filter((m) => m.doc && m.doc.kind !== 'Kustomization');

const ofKind = (kind: string) => K8S.filter((m) => m.doc.kind === kind);
const WORKLOADS = [...ofKind('Deployment'), ...ofKind('StatefulSet')];
const named = (kind: string, name: string) => ofKind(kind).find((m) => m.doc.metadata.name === name)?.doc;
const CONFIG_MAPS = new Map<string, Record<string, string>>(
  ofKind('ConfigMap').map((m) => [m.doc.metadata.name, m.doc.data ?? {}]),
);
const containersOf = (workload: Doc): Doc[] => workload.spec.template.spec.containers;
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** A container's environment, its Secret keys given the stand-ins of K8S_TEST_SECRETS. */
function containerEnv(container: Doc, where: string): Record<string, string> {
  for (const e of container.env ?? []) assertKnownEnv(e.name, where);
  try {
    return k8sContainerEnv(container, CONFIG_MAPS);
  } catch (error) {
    return assert.fail(`${where}: ${(error as Error).message}`);
  }
}

/** The path and port a probe asks: httpGet, or an exec that fetches http://127.0.0.1:PORT/PATH. */
function probeTarget(probe: Doc): { path: string; port: number | string } | undefined {
  if (probe?.httpGet) return { path: probe.httpGet.path, port: probe.httpGet.port };
  const command = (probe?.exec?.command ?? []).join(' ');
  const m = /127\.0\.0\.1:(\d+)(\/[a-z]+)/.exec(command);
  return m ? { path: m[2]!, port: Number(m[1]) } : undefined;
}

describe('deploy/k8s', () => {
  test('kustomization.yaml lists every manifest', () => {
    const kustomization: Doc = parse(read('deploy/k8s/kustomization.yaml'));
    assert.deepEqual(
      [...kustomization.resources].sort(),
      K8S_FILES.filter((f) => f !== 'kustomization.yaml').sort(),
    );
  });

  test('kubectl kustomize builds the manifests and the CPU overlay', (t) => {
    if (spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).error)
      return missingService(
        t,
        "kubectl is not installed, so the kustomize build is not checked: apt-get install -y kubernetes-client (Debian's package; scripts/setup.sh --tests installs it)",
      );
    assertOk(
      spawnSync('kubectl', ['kustomize', 'deploy/k8s'], { cwd: ROOT, encoding: 'utf8' }),
      'kubectl kustomize',
    );
    const cpu = spawnSync('kubectl', ['kustomize', 'deploy/k8s-cpu'], { cwd: ROOT, encoding: 'utf8' });
    assertOk(cpu, 'kubectl kustomize deploy/k8s-cpu');
    const trainer = parseAllDocuments(cpu.stdout)
      .map((d) => d.toJS() as Doc)
      .find((d) => d.kind === 'Deployment' && d.metadata.name === 'recstream-trainer');
    const container = trainer.spec.template.spec.containers[0];
    assert.equal(container.image, `recstream:${VERSION}`);
    assert.equal(container.resources.limits['nvidia.com/gpu'], undefined);
    assert.deepEqual(container.env[0], { name: 'RECSTREAM_DEVICE', value: 'cpu' });
  });

  test('the workloads are there', () => {
    assert.ok(named('StatefulSet', 'recstream-processor'));
    for (const name of [
      'recstream-responder',
      'recstream-trainer',
      'recstream-indexer',
      'recstream-materializer',
    ])
      assert.ok(named('Deployment', name), `no Deployment ${name}`);
    assert.ok(named('HorizontalPodAutoscaler', 'recstream-responder'));
    assert.ok(named('PodDisruptionBudget', 'recstream-responder'));
  });

  test("Redis' URL and the JWT secret come from the Secret the docs create, never the ConfigMap", () => {
    for (const [name, data] of CONFIG_MAPS)
      for (const key of ['RECSTREAM_REDIS_URL', 'RECSTREAM_JWT_SECRET', 'RECSTREAM_API_KEYS'])
        assert.ok(!(key in data), `ConfigMap ${name} holds ${key}, which belongs in a Secret`);
    const kustomization = read('deploy/k8s/kustomization.yaml');
    for (const [secret, keys] of Object.entries(K8S_TEST_SECRETS)) {
      assert.match(
        kustomization,
        new RegExp(`create secret generic ${secret}\\b`),
        `the docs create ${secret}`,
      );
      for (const key of Object.keys(keys))
        assert.ok(kustomization.includes(`--from-literal=${key}=`), `the docs create ${secret}'s ${key}`);
    }
    const fromSecret = (c: Doc, name: string) =>
      (c.env ?? []).find((e: Doc) => e.name === name)?.valueFrom?.secretKeyRef;
    for (const { file, doc } of WORKLOADS)
      for (const c of containersOf(doc)) {
        const ref = fromSecret(c, 'RECSTREAM_REDIS_URL');
        assert.ok(
          ref && ref.optional !== true,
          `${file} ${c.name}: RECSTREAM_REDIS_URL from a required Secret key`,
        );
        const url = new URL(loadConfig(containerEnv(c, `${file} ${c.name}`)).redisUrl!);
        assert.ok(url.password, `${file} ${c.name}: the Redis URL carries a password`);
      }
    const responder = containersOf(named('Deployment', 'recstream-responder'))[0];
    const jwt = fromSecret(responder, 'RECSTREAM_JWT_SECRET');
    assert.ok(
      jwt && jwt.optional !== true,
      'the responders, on 0.0.0.0, need the JWT secret that configures auth',
    );
    assert.ok(loadConfig(containerEnv(responder, 'responder')).jwtSecret);
  });

  test('every image is pinned to the recstream version', () => {
    for (const { file, doc } of WORKLOADS)
      for (const c of containersOf(doc)) {
        assertPinned(c.image, `${file} ${c.name}`);
        assertRecstreamImage(c.image, `${file} ${c.name}`);
      }
  });

  test('every container has liveness and readiness probes on /healthz or /readyz, on a port it opens', () => {
    for (const { file, doc } of WORKLOADS)
      for (const c of containersOf(doc)) {
        const env = containerEnv(c, `${file} ${c.name}`);
        const ports: Doc[] = c.ports ?? [];
        const args: string[] = c.args ?? [];
        for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
          const probe = c[kind];
          if (!probe) {
            assert.equal(kind, 'startupProbe', `${file} ${c.name}: no ${kind}`);
            continue;
          }
          const target = probeTarget(probe);
          assert.ok(target, `${file} ${c.name}: ${kind} asks no /healthz or /readyz`);
          assert.ok(PROBE_PATHS.includes(target.path), `${file} ${c.name}: ${kind} path ${target.path}`);
          const port =
            typeof target.port === 'string'
              ? ports.find((p) => p.name === target.port)?.containerPort
              : ports.find((p) => p.containerPort === target.port)?.containerPort;
          assert.ok(port, `${file} ${c.name}: ${kind} port ${target.port} is not a container port`);
          const recstreamArgs = args[0] === 'recstream' ? args : ['recstream', 'process', ...args.slice(1)];
          assert.equal(port, recstreamPort(recstreamArgs, env), `${file} ${c.name}: ${kind} port`);
        }
      }
    const responder = containersOf(named('Deployment', 'recstream-responder'))[0];
    assert.equal(probeTarget(responder.livenessProbe)?.path, '/healthz');
    assert.equal(probeTarget(responder.readinessProbe)?.path, '/readyz');
  });

  test('every RECSTREAM_* variable is a known setting with a valid value', () => {
    for (const [name, data] of CONFIG_MAPS) assertValidConfig(data, `ConfigMap ${name}`);
    for (const { file, doc } of WORKLOADS)
      for (const c of containersOf(doc)) {
        const env = containerEnv(c, `${file} ${c.name}`);
        assertValidConfig(env, `${file} ${c.name}`);
        assert.equal(env.RECSTREAM_DATA_DIR, DATA_DIR, `${file} ${c.name}: data dir`);
      }
  });

  test('services select pods and target ports that exist', () => {
    for (const { file, doc } of ofKind('Service')) {
      const workload = WORKLOADS.find((w) => matches(doc.spec.selector, w.doc.spec.template.metadata.labels));
      assert.ok(workload, `${file}: Service ${doc.metadata.name} selects no pod template`);
      const ports = containersOf(workload.doc).flatMap((c) => c.ports ?? []);
      for (const p of doc.spec.ports)
        assert.ok(
          ports.some((cp: Doc) => cp.name === p.targetPort || cp.containerPort === p.targetPort),
          `${file}: Service ${doc.metadata.name} targets ${p.targetPort}, which no container opens`,
        );
    }
    for (const { file, doc } of WORKLOADS)
      assert.ok(
        matches(doc.spec.selector.matchLabels, doc.spec.template.metadata.labels),
        `${file}: selector`,
      );
  });

  test('the processor StatefulSet derives its partitions from the pod ordinal, on its own volumes', () => {
    const sts = named('StatefulSet', 'recstream-processor');
    const service = named('Service', sts.spec.serviceName);
    assert.ok(service, 'the StatefulSet names an existing Service');
    assert.equal(service.spec.clusterIP, 'None', 'its Service is headless');
    const c = containersOf(sts)[0];
    assert.equal(c.args[0], '/app/deploy/processor-partitions.sh', 'the pod runs the partition script');
    assert.ok(c.args.includes(METRICS_PORT_FLAG));
    const env = containerEnv(c, 'processor');
    assert.equal(Number(env.PROCESSOR_REPLICAS), sts.spec.replicas, 'PROCESSOR_REPLICAS equals replicas');
    assert.ok(sts.spec.replicas <= loadConfig(env).partitions, 'no more instances than partitions');
    const ordinal = c.env.find((e: Doc) => e.name === 'PROCESSOR_ORDINAL');
    assert.equal(ordinal.valueFrom.fieldRef.fieldPath, "metadata.labels['apps.kubernetes.io/pod-index']");
    const claims = sts.spec.volumeClaimTemplates.map((t: Doc) => t.metadata.name);
    const mount = c.volumeMounts.find((m: Doc) => m.mountPath === DATA_DIR);
    assert.ok(mount && claims.includes(mount.name), 'the data dir is a volume claim of its own');
    // The script is in the image: the Dockerfile copies the repository but what .dockerignore leaves out.
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    assert.ok(!ignored.includes('deploy') && !ignored.includes('deploy/'), '.dockerignore keeps deploy/');
  });

  test('responders: autoscaled, disruption budget, artifacts shared, port = RECSTREAM_HTTP_PORT', () => {
    const deployment = named('Deployment', 'recstream-responder');
    const hpa = named('HorizontalPodAutoscaler', 'recstream-responder');
    assert.deepEqual(
      [hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name],
      ['Deployment', 'recstream-responder'],
    );
    assert.ok(hpa.spec.minReplicas >= 2);
    assert.equal(deployment.spec.replicas, undefined, 'the HPA owns replicas');
    const pdb = named('PodDisruptionBudget', 'recstream-responder');
    assert.ok(matches(pdb.spec.selector.matchLabels, deployment.spec.template.metadata.labels));
    const c = containersOf(deployment)[0];
    const env = containerEnv(c, 'responder');
    assert.equal(c.ports.find((p: Doc) => p.name === 'http').containerPort, loadConfig(env).httpPort);
    assert.equal(env.RECSTREAM_HTTP_HOST, '0.0.0.0');
  });

  test('the trainer asks for a GPU on the CUDA image; artifacts volumes exist', () => {
    const trainer = named('Deployment', 'recstream-trainer');
    const c = containersOf(trainer)[0];
    assert.ok(Number(c.resources.limits['nvidia.com/gpu']) >= 1, 'nvidia.com/gpu limit');
    assert.ok(c.image.endsWith('-cuda'));
    assert.equal(trainer.spec.replicas, 1);
    for (const { file, doc } of WORKLOADS)
      for (const v of doc.spec.template.spec.volumes ?? [])
        if (v.persistentVolumeClaim)
          assert.ok(
            named('PersistentVolumeClaim', v.persistentVolumeClaim.claimName),
            `${file}: claim ${v.name}`,
          );
    for (const name of ['recstream-trainer', 'recstream-indexer', 'recstream-responder']) {
      const mounts = containersOf(named('Deployment', name))[0].volumeMounts;
      assert.ok(
        mounts.some((m: Doc) => m.mountPath === `${DATA_DIR}/artifacts` && m.name === 'artifacts'),
        `${name} mounts the shared artifacts`,
      );
    }
    assert.deepEqual(named('PersistentVolumeClaim', 'recstream-artifacts').spec.accessModes, [
      'ReadWriteMany',
    ]);
  });
});

// ---------------------------------------------------------------------------
// Dockerfile and every deploy file

describe('Dockerfile and deploy files', () => {
  test('the Dockerfile pins its base image and installs what the trainer needs', () => {
    const dockerfile = read('Dockerfile');
    const args = new Map([...dockerfile.matchAll(/^ARG (\w+)=(\S+)/gm)].map((m) => [m[1]!, m[2]!]));
    const stages = new Set<string>();
    for (const m of dockerfile.matchAll(/^FROM (\S+)(?: AS (\S+))?/gm)) {
      const image = m[1]!.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? name);
      if (!stages.has(image)) assertPinned(image, `Dockerfile FROM ${m[1]}`);
      if (m[2]) stages.add(m[2]);
    }
    assert.match(args.get('NODE_IMAGE') ?? '', /^node:20\./, 'node 20');
    for (const needed of ['npm ci', 'npm run build', 'python3-torch', 'libopenblas0-pthread'])
      assert.ok(dockerfile.includes(needed), `the Dockerfile should run or install ${needed}`);
    assert.ok(stages.has('cuda'), 'a cuda target for the GPU trainer');
  });

  test('every RECSTREAM_* and OTEL_* variable named in a deploy file is a known setting', () => {
    for (const file of [at('docker-compose.yml'), at('Dockerfile'), at('.env.example'), ...deployFiles()])
      for (const m of readFileSync(file, 'utf8').matchAll(/\b(?:RECSTREAM|OTEL)_[A-Z0-9_]+/g))
        assertKnownEnv(m[0], file.slice(ROOT.length));
  });
});

// ---------------------------------------------------------------------------
// Prometheus and Grafana

const RULES: Doc = parse(read('deploy/prometheus/alerts.yml'));
const ALERTS: Doc[] = RULES.groups.flatMap((g: Doc) => g.rules);
const SCRAPE: Doc = parse(read('deploy/prometheus/prometheus.yml'));
const DASHBOARD: Doc = JSON.parse(read('deploy/grafana/recstream.json'));
const PANELS: Doc[] = DASHBOARD.panels.filter((p: Doc) => p.type !== 'row');

/** Each concern of the issue, and what a rule or panel about it must read. */
const CONCERNS: readonly { readonly concern: string; readonly test: (expr: string) => boolean }[] = [
  { concern: 'throughput', test: (e) => /recstream_records_(in|out)_total/.test(e) },
  { concern: 'consumer lag', test: (e) => e.includes('recstream_consumer_lag_records') },
  {
    concern: 'serve p99',
    test: (e) =>
      /histogram_quantile\(0\.99/.test(e) && /recstream_serve_stage_seconds_bucket\{stage="total"\}/.test(e),
  },
  {
    concern: 'fallback rate',
    test: (e) =>
      e.includes('recstream_serve_fallbacks_total') && e.includes('recstream_serve_requests_total'),
  },
  {
    concern: 'model staleness',
    test: (e) => e.includes('recstream_serve_model_info') && e.includes('time()'),
  },
  { concern: 'reloads', test: (e) => e.includes('recstream_serve_reloads_total') },
  { concern: 'dead letters', test: (e) => e.includes('recstream_dead_letters_total') },
  { concern: 'a processor down', test: (e) => /up\{job="recstream-processors"\}/.test(e) },
  {
    concern: "a responder's event-loop delay",
    test: (e) => /nodejs_eventloop_lag_p99_seconds\{job="recstream-responders"\}/.test(e),
  },
];

describe('deploy/prometheus', () => {
  test('promtool check rules passes', () => {
    assertOk(promtool(['check', 'rules', 'deploy/prometheus/alerts.yml']), 'promtool check rules');
  });

  test('promtool test rules: each alert fires on its trouble and not beside it', () => {
    assertOk(promtool(['test', 'rules', 'deploy/prometheus/alerts.test.yml']), 'promtool test rules');
    const tested = new Set(
      (parse(read('deploy/prometheus/alerts.test.yml')) as Doc).tests.flatMap((t: Doc) =>
        (t.alert_rule_test ?? []).filter((a: Doc) => a.exp_alerts.length > 0).map((a: Doc) => a.alertname),
      ),
    );
    for (const rule of ALERTS)
      assert.ok(tested.has(rule.alert), `alerts.test.yml never sees ${rule.alert} fire`);
  });

  test('promtool check config passes on the scrape configuration', () => {
    assertOk(promtool(['check', 'config', 'deploy/prometheus/prometheus.yml']), 'promtool check config');
  });

  test('every rule has for, a severity, a summary and a runbook in docs/runbooks.md', () => {
    assert.ok(existsSync(at('docs/runbooks.md')));
    for (const rule of ALERTS) {
      assert.ok(rule.alert, 'alerting rules only');
      assert.match(String(rule.for), /^\d+[smh]$/, `${rule.alert}: for`);
      assert.ok(['warning', 'critical'].includes(rule.labels?.severity), `${rule.alert}: severity`);
      assert.ok(rule.annotations?.summary, `${rule.alert}: summary`);
      assert.match(
        rule.annotations?.runbook_url ?? '',
        /^docs\/runbooks\.md#[a-z0-9-]+$/,
        `${rule.alert}: runbook`,
      );
    }
  });

  test('the rules cover every concern', () => {
    for (const { concern, test: reads } of CONCERNS.filter((c) => c.concern !== 'throughput'))
      assert.ok(
        ALERTS.some((r) => reads(r.expr)),
        `no alert rule about ${concern}`,
      );
    const p99 = ALERTS.find((r) => CONCERNS[2]!.test(r.expr));
    // docs/runbooks.md#serving-latency: twice the slowest p99 the serve benchmark measured, at a bucket boundary.
    assert.match(p99.expr, /> 0\.1\b/, 'the p99 objective is 100 ms');
  });

  test('every metric a rule names is one the code defines, with labels and values it writes', () => {
    for (const rule of ALERTS) assertExprMetrics(rule.expr, `alert ${rule.alert}`);
    const jobs = new Set(SCRAPE.scrape_configs.map((s: Doc) => s.job_name));
    for (const rule of ALERTS)
      for (const m of String(rule.expr).matchAll(/job="([^"]+)"/g))
        assert.ok(jobs.has(m[1]), `alert ${rule.alert}: job ${m[1]} is not scraped`);
  });

  test('scrape targets are compose services on the ports they serve metrics on', () => {
    const seen = new Set<string>();
    for (const job of SCRAPE.scrape_configs) {
      const targets: [string, number][] = [];
      for (const s of job.static_configs ?? [])
        for (const t of s.targets) targets.push([t.split(':')[0], Number(t.split(':')[1])]);
      for (const d of job.dns_sd_configs ?? []) for (const n of d.names) targets.push([n, d.port]);
      for (const [host, port] of targets) {
        if (host === 'localhost') {
          assert.equal(job.job_name, 'prometheus');
          continue;
        }
        assert.ok(SERVICES[host], `job ${job.job_name}: ${host} is not a compose service`);
        assert.ok(listenPorts(host).includes(port), `job ${job.job_name}: ${host} serves nothing on ${port}`);
        seen.add(host);
      }
    }
    for (const [name, service] of Object.entries(SERVICES))
      if (isRecstream(service)) assert.ok(seen.has(name), `recstream service ${name} is not scraped`);
    for (const file of SCRAPE.rule_files) assert.ok(existsSync(at('deploy/prometheus', file)), file);
  });
});

describe('deploy/grafana/recstream.json', () => {
  test('panels are well formed: unique ids, a data source, queries', () => {
    const ids = DASHBOARD.panels.map((p: Doc) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
    assert.equal(DASHBOARD.uid, 'recstream');
    for (const panel of PANELS) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template.
      assert.equal(panel.datasource?.uid, '${datasource}', `panel ${panel.title}: data source variable`);
      assert.ok(panel.targets.length > 0, `panel ${panel.title}: no query`);
      for (const t of panel.targets) assert.ok(t.expr && t.refId, `panel ${panel.title}: query`);
      assert.ok(
        panel.gridPos && panel.gridPos.w > 0 && panel.gridPos.x + panel.gridPos.w <= 24,
        `${panel.title}: gridPos`,
      );
    }
  });

  test('the dashboard shows every concern', () => {
    const exprs = PANELS.flatMap((p) => p.targets.map((t: Doc) => String(t.expr)));
    for (const { concern, test: reads } of CONCERNS.filter((c) => c.concern !== 'a processor down'))
      assert.ok(exprs.some(reads), `no panel about ${concern}`);
    assert.ok(
      exprs.some((e) => e.includes('up)')),
      'a panel of targets up',
    );
    assert.ok(
      exprs.some((e) => /nodejs_gc_duration_seconds_bucket\{job="recstream-responders"\}/.test(e)),
      "a panel of a responder's GC pauses",
    );
  });

  test("the experiments row shows each experiment's variants: CTR, requests, p99 latency, p-value", () => {
    for (const gauge of ['ctr', 'requests', 'latency_p99_ms', 'p_value']) {
      const panel = PANELS.find((p) =>
        p.targets.some((t: Doc) => String(t.expr).includes(`recstream_experiment_${gauge}`)),
      );
      assert.ok(panel, `no panel of recstream_experiment_${gauge}`);
      for (const t of panel.targets) {
        assert.match(
          String(t.expr),
          /by \(experiment, variant\)/,
          `${panel.title}: by experiment and variant`,
        );
        assert.match(String(t.legendFormat), /\{\{experiment\}\}.*\{\{variant\}\}/, `${panel.title}: legend`);
      }
    }
  });

  test("the p99 panels turn red at the alert's threshold", () => {
    const rule = ALERTS.find((r) => CONCERNS[2]!.test(r.expr));
    const threshold = Number(/> (0\.\d+)\b/.exec(rule.expr)?.[1]);
    const p99Panels = PANELS.filter((p) => p.targets.some((t: Doc) => CONCERNS[2]!.test(String(t.expr))));
    assert.ok(p99Panels.length > 0);
    for (const panel of p99Panels) {
      const red = panel.fieldConfig.defaults.thresholds.steps.find((s: Doc) => s.color === 'red');
      assert.equal(red?.value, threshold, `panel ${panel.title}: red from ${threshold} s, as the alert`);
    }
  });

  test('every metric a panel names is one the code defines, with labels and values it writes', () => {
    for (const panel of PANELS)
      for (const t of panel.targets) assertExprMetrics(String(t.expr), `panel ${panel.title}`);
  });

  test('every panel query is valid PromQL (promtool, as recording rules)', () => {
    const rules = PANELS.flatMap((panel, i) =>
      panel.targets.map((t: Doc) => ({
        record: `recstream:dashboard_panel_${i}_${t.refId}`,
        expr: String(t.expr).replaceAll('$__rate_interval', '5m'),
      })),
    );
    const dir = mkdtempSync(join(tmpdir(), 'recstream-dashboard-'));
    const file = join(dir, 'panels.yml');
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
    assertOk(promtool(['check', 'rules', file]), 'promtool check rules (dashboard queries)');
  });
});
