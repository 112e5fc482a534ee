/**
 * A missing service skips locally and fails under CI=true, through the real
 * Redis fixture; and scripts/run-tests.mjs counts the skips of a run and,
 * under CI=true, fails it on any that is not a declared limit of the
 * Kafka-protocol server.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { declaredLimitReason, isDeclaredSkip } from './skips.js';

// dist/test/skips.test.js → the repository root.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST_TEST = fileURLToPath(new URL('./', import.meta.url));

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The environment of a test run started from this one: CI=true or not, and
 * without the variable by which node:test makes a nested run report to its
 * parent instead of printing.
 */
function runEnv(ci: boolean, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  delete env.CI;
  if (ci) env.CI = 'true';
  return env;
}

/** Runs the compiled Redis online-store tests against `redisUrl`, with or without CI=true. */
function redisTests(redisUrl: string, ci: boolean) {
  const env = runEnv(ci, { RECSTREAM_TEST_REDIS_URL: redisUrl });
  return spawnSync(
    process.execPath,
    ['--test', '--test-reporter=tap', join(ROOT, 'dist/runtime/online/redis/redis-online-store.test.js')],
    { cwd: ROOT, env, encoding: 'utf8' },
  );
}

const count = (tap: string, what: string) => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(tap)?.[1]);

test('without Redis the Redis tests skip locally and fail under CI=true, naming the server', {
  timeout: 120_000,
}, async () => {
  const url = `redis://127.0.0.1:${await closedPort()}`;

  const local = redisTests(url, false);
  assert.equal(local.status, 0, local.stdout + local.stderr);
  assert.ok(count(local.stdout, 'skipped') > 0, 'skipped locally');
  assert.equal(count(local.stdout, 'fail'), 0);

  const ci = redisTests(url, true);
  assert.notEqual(ci.status, 0, 'the run fails under CI=true');
  assert.equal(count(ci.stdout, 'skipped'), 0, 'nothing is skipped under CI=true');
  assert.ok(count(ci.stdout, 'fail') > 0);
  assert.match(ci.stdout, /MissingServiceError/);
  assert.ok(ci.stdout.includes(`no Redis server answers at ${url}`), 'the failure names the server');
});

/** scripts/run-tests.mjs on one test file, in a scratch tree holding the compiled skip helpers. */
function runTestsOn(testSource: string, ci: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'recstream-run-tests-'));
  try {
    mkdirSync(join(dir, 'dist/test'), { recursive: true });
    for (const file of ['skips.js', 'skip-reporter.js'])
      copyFileSync(join(DIST_TEST, file), join(dir, 'dist/test', file));
    mkdirSync(join(dir, 'dist/fixture'));
    writeFileSync(join(dir, 'dist/fixture/fixture.test.js'), testSource);
    return spawnSync(process.execPath, [join(ROOT, 'scripts/run-tests.mjs'), 'fixture'], {
      cwd: dir,
      env: runEnv(ci),
      encoding: 'utf8',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const declared = declaredLimitReason('timestampLookup');
const fixture = (reasons: readonly string[]) =>
  `import { test } from 'node:test';\n${reasons
    .map((reason, i) => `test('skipped ${i}', (t) => { t.skip(${JSON.stringify(reason)}); });\n`)
    .join('')}test('runs', () => {});\n`;

test('run-tests counts and prints skips; under CI=true only declared limits pass', {
  timeout: 120_000,
}, () => {
  assert.ok(isDeclaredSkip(declared));
  assert.ok(isDeclaredSkip(`timestampLookup unsupported by this back-end: ${declared}`));
  assert.ok(!isDeclaredSkip('no Redis server answers at redis://127.0.0.1:6379'));

  const onlyDeclared = runTestsOn(
    fixture([declared, `compaction unsupported by this back-end: ${declaredLimitReason('compaction')}`]),
    true,
  );
  assert.equal(onlyDeclared.status, 0, onlyDeclared.stdout + onlyDeclared.stderr);
  assert.match(onlyDeclared.stdout, /skipped: 2 \(2 declared limits of the Kafka-protocol server, 0 other\)/);

  const other = fixture([declared, 'no Redis server answers at redis://127.0.0.1:6379']);
  const underCi = runTestsOn(other, true);
  assert.equal(underCi.status, 1, underCi.stdout + underCi.stderr);
  assert.match(underCi.stdout, /skipped: 2 \(1 declared limits of the Kafka-protocol server, 1 other\)/);
  assert.match(
    underCi.stdout,
    /SKIPPED +dist\/fixture\/fixture\.test\.js › skipped 1: no Redis server answers/,
  );
  assert.match(underCi.stderr, /CI=true: 1 test\(s\) skipped for a reason that is not a declared limit/);

  const locally = runTestsOn(other, false);
  assert.equal(locally.status, 0, locally.stdout + locally.stderr);
  assert.match(locally.stdout, /skipped: 2 \(1 declared limits of the Kafka-protocol server, 1 other\)/);
});
