/**
 * The shipped deployments trace: `recstream serve` started with the
 * environment docker-compose.yml and deploy/k8s give the responder, against
 * a local OTLP/HTTP receiver, answers a request and its span arrives. The
 * shipped responder requires credentials: the request carries a token with
 * the `recommendations:read` scope, signed with the shipped secret's
 * stand-in, as a client of the deployment would send one.
 *
 * What cannot be the shipped value is replaced, and only that: the
 * collector's and Redis' host:port (a receiver and a redis-server of this
 * test on 127.0.0.1; the scheme, path and Redis password stay), the listen
 * address (127.0.0.1, port 0), the data dir (a temp dir), and the Kafka
 * brokers and schema registry, left out so the embedded log and registry
 * stand in. Every other variable — the OTEL_* ones among them — is passed
 * as shipped. Needs `redis-server` (skipped without it, failed under CI=true).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, type TestContext, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { SignJWT } from 'jose';
import { CLI } from '../test/cli.js';
import { startOwnRedis } from '../test/own-redis.js';
import { missingService } from '../test/skips.js';
import { composeEnv, type Doc, k8sConfigMaps, k8sContainerEnv, readCompose, readK8s } from './shipped-env.js';

/** Variables that name the OTLP collector; the code reads all three. */
const OTLP_VARIABLES = [
  'RECSTREAM_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
];
/** The servers of the deployment that are not here: the embedded log and registry stand in. */
const LEFT_OUT = ['RECSTREAM_KAFKA_BROKERS', 'RECSTREAM_SCHEMA_REGISTRY_URL'];

interface ReceivedSpan {
  readonly name: string;
  readonly traceId: string;
  readonly serviceName: string | undefined;
}

interface Receiver {
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Requests that were not an OTLP/HTTP JSON export to /v1/traces. */
  readonly refused: string[];
  close(): Promise<void>;
}

async function body(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

/**
 * An OTLP/HTTP receiver on 127.0.0.1 that decodes the JSON encoding
 * (what @opentelemetry/exporter-trace-otlp-http sends: ExportTraceServiceRequest
 * as JSON, trace ids in hex) and keeps every span.
 */
async function otlpReceiver(): Promise<Receiver> {
  const spans: ReceivedSpan[] = [];
  const refused: string[] = [];
  const server = createServer((request, response) => {
    body(request).then(
      (bytes) => {
        const type = request.headers['content-type'] ?? '';
        if (
          request.method !== 'POST' ||
          request.url !== '/v1/traces' ||
          !type.startsWith('application/json')
        ) {
          refused.push(`${request.method} ${request.url} (${type})`);
          response.writeHead(404).end();
          return;
        }
        const exported = JSON.parse(bytes.toString('utf8')) as Doc;
        for (const resourceSpans of exported.resourceSpans ?? []) {
          const service = (resourceSpans.resource?.attributes ?? []).find(
            (a: Doc) => a.key === 'service.name',
          );
          for (const scope of resourceSpans.scopeSpans ?? [])
            for (const span of scope.spans ?? [])
              spans.push({
                name: span.name,
                traceId: span.traceId,
                serviceName: service?.value?.stringValue,
              });
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      },
      (error: Error) => {
        refused.push(`unreadable export: ${error.message}`);
        response.writeHead(400).end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** `url` with its host and port replaced by 127.0.0.1:`port`. */
function onLoopback(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs the shipped responder role with `shipped`, one traced request, and waits for its span. */
async function servesAndTraces(
  t: TestContext,
  where: string,
  args: readonly string[],
  shipped: Readonly<Record<string, string>>,
): Promise<void> {
  const collector = OTLP_VARIABLES.filter((name) => shipped[name] !== undefined);
  assert.ok(collector.length > 0, `${where}: no OTLP endpoint (${OTLP_VARIABLES.join(', ')}) is set`);
  for (const name of collector)
    assert.equal(new URL(shipped[name]!).hostname, 'otel-collector', `${where}: ${name} names the collector`);
  assert.equal(args[0], 'recstream');
  assert.equal(args[1], 'serve', `${where}: the responder role`);
  const secret = shipped.RECSTREAM_JWT_SECRET;
  assert.ok(secret, `${where}: the responder gets RECSTREAM_JWT_SECRET`);
  const token = await new SignJWT({ scope: 'recommendations:read' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('shipped-tracing-test')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));
  const redisUrl = new URL(shipped.RECSTREAM_REDIS_URL!);
  assert.ok(redisUrl.password, `${where}: RECSTREAM_REDIS_URL carries a password`);

  if (spawnSync('redis-server', ['--version']).error)
    return missingService(t, 'redis-server is not installed: apt-get install -y redis-server');
  const receiver = await otlpReceiver();
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-shipped-tracing-'));
  const redis = await startOwnRedis(join(dataDir, 'redis'), decodeURIComponent(redisUrl.password));
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dataDir };
  for (const [name, value] of Object.entries(shipped)) if (!LEFT_OUT.includes(name)) env[name] = value;
  for (const name of collector) env[name] = onLoopback(shipped[name]!, Number(new URL(receiver.url).port));
  Object.assign(env, {
    RECSTREAM_REDIS_URL: onLoopback(shipped.RECSTREAM_REDIS_URL!, Number(new URL(redis.url).port)),
    RECSTREAM_DATA_DIR: dataDir,
    RECSTREAM_HTTP_HOST: '127.0.0.1',
    RECSTREAM_HTTP_PORT: '0',
  });
  const child = track(
    spawn(process.execPath, [CLI, ...args.slice(1)], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const url = await until(`${where}: recstream serve listening`, 60_000, () => {
      assert.equal(child.exitCode, null, `${where}: recstream serve exited:\n${output}`);
      return /listening on (http:\/\/\S+)/.exec(output)?.[1];
    });
    const traceId = randomBytes(16).toString('hex');
    const response = await fetch(`${url}/v1/recommendations/u1`, {
      headers: {
        traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
        authorization: `Bearer ${token}`,
      },
    });
    assert.equal(response.status, 200, await response.text());
    const span = await until(`${where}: the request's span at the OTLP receiver`, 30_000, () =>
      receiver.spans.find((s) => s.traceId === traceId),
    );
    assert.equal(span.name, 'GET /v1/recommendations');
    assert.equal(span.serviceName, shipped.OTEL_SERVICE_NAME ?? 'recstream');
    assert.deepEqual(receiver.refused, [], `${where}: what the receiver could not read`);
    assert.match(output, /"msg":"redis connection ready"/, `${where}: connected to Redis with the password`);
  } finally {
    child.kill('SIGTERM');
    const code = await exited;
    await redis.stop();
    await receiver.close();
    await rm(dataDir, { recursive: true, force: true });
    assert.equal(code, 0, `${where}: recstream serve after SIGTERM:\n${output}`);
  }
}

const definedOnly = (env: Record<string, string | null>) =>
  Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== null));

test('docker-compose.yml: the responder, as shipped, sends its spans to the collector', {
  timeout: 120_000,
}, async (t) => {
  const responder = readCompose().services.responder;
  await servesAndTraces(
    t,
    'docker-compose.yml responder',
    responder.command,
    definedOnly(composeEnv(responder)),
  );
});

test('deploy/k8s: the responder Deployment, as shipped, sends its spans to the collector', {
  timeout: 120_000,
}, async (t) => {
  const manifests = readK8s();
  const deployment = manifests.find(
    (m) => m.doc?.kind === 'Deployment' && m.doc.metadata.name === 'recstream-responder',
  )!.doc;
  const container = deployment.spec.template.spec.containers[0];
  await servesAndTraces(
    t,
    'deploy/k8s recstream-responder',
    container.args,
    k8sContainerEnv(container, k8sConfigMaps(manifests)),
  );
});
