// Runs every compiled test file under dist/ with Node's built-in test runner
// (Node 20's `node --test` takes no globs, so the file list is gathered
// here), then the training engine's tests (models/tests) with pytest, under
// the first interpreter that imports torch and pytest, and its Python checked
// with pyflakes and mypy under that interpreter. Every skipped test is
// counted and printed at the end; under CI=true a skip that is not a declared
// limit of the Kafka-protocol server (test/skips.ts) fails the run.
//
// `--faults` runs the fault suite instead (`*.fault.test.js`: processes
// killed, disks filled, inputs fuzzed; `npm run test:faults`), which the
// ordinary run leaves out: it takes minutes of its own and CI runs it after.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.fault.test.js') === faults && name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const faults = process.argv[2] === '--faults';
const filter = process.argv[faults ? 3 : 2];
function pythonWithTorch() {
  for (const python of [process.env.RECSTREAM_PYTHON, 'python3', '/usr/bin/python3']) {
    if (!python) continue;
    const probe = spawnSync(python, ['-c', 'import torch, numpy, pytest'], { stdio: 'ignore' });
    if (probe.status === 0) return python;
  }
  return undefined;
}

function runEngineTests() {
  const python = pythonWithTorch();
  if (!python) {
    console.error(
      'no python3 with torch, numpy and pytest: run scripts/setup.sh (installs python3-torch, python3-pytest)',
    );
    return 1;
  }
  const result = spawnSync(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests'], {
    cwd: 'models',
    stdio: 'inherit',
  });
  return (result.status ?? 1) || checkEngineSources(python);
}

// The engine's package, tests and scripts, checked as the TypeScript is: pyflakes (unused and
// undefined names) and mypy (types), Debian's python3-pyflakes and mypy (scripts/setup.sh --tests).
function checkEngineSources(python) {
  const checkers = [
    ['pyflakes', []],
    ['mypy', ['--cache-dir', join(tmpdir(), 'recstream-mypy-cache')]],
  ];
  for (const [checker, options] of checkers) {
    if (spawnSync(python, ['-c', `import ${checker}`], { stdio: 'ignore' }).status !== 0) {
      console.error(
        `${python} has no ${checker}: run scripts/setup.sh --tests (installs python3-pyflakes and mypy)`,
      );
      return 1;
    }
    console.log(`\n${checker} (models/)`);
    const result = spawnSync(python, ['-m', checker, ...options, 'recstream_models', 'tests', 'scripts'], {
      cwd: 'models',
      stdio: 'inherit',
    });
    if (result.status !== 0) return result.status ?? 1;
  }
  return 0;
}

const files = collect('dist', [])
  .filter((f) => !filter || f.includes(filter))
  .sort();
if (files.length === 0) {
  console.error(`no test files found${filter ? ` matching ${filter}` : ''}; run npm run build first`);
  process.exit(1);
}
// A test with no timeout of its own fails after TEST_TIMEOUT_MS, so one
// stuck test fails the run instead of holding it until CI kills it (the
// commands a test started are killed once its file's tests are over:
// test/cli.ts). Not --test-force-exit: Node 20 then ends a file before the
// tests of a suite that registers them after an await, and drops them
// without a word.
const TEST_TIMEOUT_MS = 15 * 60_000;
const skipsDir = mkdtempSync(join(tmpdir(), 'recstream-skips-'));
const skipsFile = join(skipsDir, 'skips.jsonl');
const result = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${pathToFileURL(resolve('dist/test/skip-reporter.js'))}`,
    `--test-reporter-destination=${skipsFile}`,
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
const skips = await reportSkips();
const engine = faults || (filter && !'models'.includes(filter)) ? 0 : runEngineTests();
process.exit((result.status ?? 1) || skips || engine);

/** Prints the run's skips; under CI=true, 1 when one of them is not a declared limit. */
async function reportSkips() {
  const lines = existsSync(skipsFile) ? readFileSync(skipsFile, 'utf8').split('\n').filter(Boolean) : [];
  rmSync(skipsDir, { recursive: true, force: true });
  const { isDeclaredSkip, underCi } = await import(pathToFileURL(resolve('dist/test/skips.js')).href);
  const skipped = lines.map((line) => JSON.parse(line));
  const undeclared = skipped.filter((s) => !isDeclaredSkip(s.reason));
  console.log(
    `\nskipped: ${skipped.length} (${skipped.length - undeclared.length} declared limits of the Kafka-protocol server, ${undeclared.length} other)`,
  );
  for (const s of skipped)
    console.log(
      `  ${isDeclaredSkip(s.reason) ? 'declared' : 'SKIPPED '} ${s.file ? relative('.', s.file) : ''} › ${s.name}: ${s.reason}`,
    );
  if (!underCi() || undeclared.length === 0) return 0;
  console.error(
    `CI=true: ${undeclared.length} test(s) skipped for a reason that is not a declared limit of the Kafka-protocol server (test/skips.ts); CI must run what it tests`,
  );
  return 1;
}
