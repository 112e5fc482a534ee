/**
 * The layer order of the source folders (docs/layers.md), checked on every
 * relative import of every non-test `.ts` file: a folder imports its own
 * files and the folders of lower layers, never a higher layer nor, unless a
 * rule below says why, a folder of its own layer. Also: no such file is
 * over 400 lines unless the list below says why.
 *
 * Tests (`*.test.ts`), test support (`*.fixture.ts`, `*.contract.ts`,
 * `test-support.ts`, all left out of the package) and the `test/` and
 * `deploy/` helpers are exempt: a test may reach across layers to build the
 * world it checks.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// dist/test/layers.test.js → the repository root.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Low to high; the root `index.ts` (the package entry) sits above them all. */
const LAYERS: readonly (readonly string[])[] = [
  ['lib'],
  ['runtime'],
  ['schemas'],
  ['features'],
  ['processors', 'sim', 'importers'],
  ['topologies'],
  ['registry'],
  ['inference'],
  ['trainer', 'indexer'],
  ['responders'],
  ['app'],
  ['evaluation', 'bench'],
  ['cli'],
  ['index.ts'],
];

/** Imports between folders of one layer, each with the reason it is allowed. */
const SAME_LAYER: readonly { readonly from: string; readonly to: string; readonly why: string }[] = [
  {
    from: 'bench',
    to: 'evaluation',
    why: 'the quality suite measures the offline evaluation, so it runs it',
  },
];

/**
 * Imports the order allows that are still refused: responders and the
 * indexer read the model's feature contract, never the trainer's or the
 * processors' internals.
 */
const REFUSED: readonly { readonly from: string; readonly to: string; readonly why: string }[] = [
  { from: 'responders', to: 'trainer', why: 'responders read the feature contract, not the trainer' },
  { from: 'responders', to: 'processors', why: 'responders read the feature contract, not the processors' },
  { from: 'indexer', to: 'trainer', why: 'the indexer reads the feature contract, not the trainer' },
  { from: 'indexer', to: 'processors', why: 'the indexer reads the feature contract, not the processors' },
];

const MAX_LINES = 400;

/** Files over MAX_LINES, each with the reason it may be. */
const LONG_FILES: Readonly<Record<string, string>> = {};

const EXEMPT_FOLDERS = new Set(['test', 'deploy', 'node_modules', 'dist', 'models', 'docs', 'data']);
const GENERATED = ['schemas/generated/'];

function isTestFile(path: string): boolean {
  return /\.(test|fixture|contract)\.ts$/.test(path) || path.endsWith('/test-support.ts');
}

/** Every checked `.ts` file, relative to the root with `/` separators. */
function sourceFiles(dir = ROOT, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const rel = relative(ROOT, path).split(sep).join('/');
    if (entry.isDirectory()) {
      if (!EXEMPT_FOLDERS.has(rel)) sourceFiles(path, out);
    } else if (rel.endsWith('.ts') && !isTestFile(rel)) {
      out.push(rel);
    }
  }
  return out;
}

/** The folder a file belongs to: its top folder, or the file itself at the root. */
function folderOf(path: string): string {
  return path.split('/')[0]!;
}

function layerOf(folder: string): number | undefined {
  const at = LAYERS.findIndex((layer) => layer.includes(folder));
  return at < 0 ? undefined : at;
}

/** The files a source file imports by relative specifier, resolved to `.ts` paths from the root. */
function relativeImports(path: string): string[] {
  const source = readFileSync(join(ROOT, path), 'utf8');
  return ts
    .preProcessFile(source, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) =>
      normalize(join(dirname(path), spec))
        .split(sep)
        .join('/')
        .replace(/\.js$/, '.ts'),
    );
}

/** Why `from` may not import `target`, or undefined when it may. */
function violation(from: string, target: string): string | undefined {
  const a = folderOf(from);
  const b = folderOf(target);
  if (a === b) return undefined;
  const la = layerOf(a);
  const lb = layerOf(b);
  if (la === undefined) return `folder ${a} has no layer`;
  if (lb === undefined) return `folder ${b} has no layer`;
  const refused = REFUSED.some((r) => r.from === a && r.to === b);
  const sameLayer = lb === la && SAME_LAYER.some((r) => r.from === a && r.to === b);
  return !refused && (lb < la || sameLayer) ? undefined : `layer ${a} may not import layer ${b}`;
}

test('every import goes to the same folder or a lower layer', () => {
  const found: string[] = [];
  for (const file of sourceFiles())
    for (const target of relativeImports(file)) {
      const why = violation(file, target);
      if (why !== undefined) found.push(`${file} -> ${target} (${why})`);
    }
  assert.deepEqual(found, [], `layer violations:\n${found.join('\n')}`);
});

/** The files a source file re-exports from (`export … from`), resolved like its imports. */
function reExports(path: string): string[] {
  const source = readFileSync(join(ROOT, path), 'utf8');
  return [...source.matchAll(/^export\s+(?:type\s+)?(?:\*|\{[^}]*\})\s+from\s+'(\.[^']+)'/gm)].map((m) =>
    normalize(join(dirname(path), m[1]!))
      .split(sep)
      .join('/')
      .replace(/\.js$/, '.ts'),
  );
}

test('no import reaches a refused folder through a re-export', () => {
  const found: string[] = [];
  for (const file of sourceFiles())
    for (const target of relativeImports(file))
      for (const origin of isTestFile(target) ? [] : reExports(target))
        if (REFUSED.some((r) => r.from === folderOf(file) && r.to === folderOf(origin)))
          found.push(`${file} -> ${target} -> ${origin}`);
  assert.deepEqual(found, [], `refused imports through re-exports:\n${found.join('\n')}`);
});

/**
 * The runtime's internals (its runner's parts) are reached from outside
 * `runtime/` only through its public modules (`runtime/engine/operations.ts`
 * for replays, task counts and store reads), so the runner can change
 * their shapes without breaking a command.
 */
const RUNTIME_INTERNALS = 'runtime/engine/internals/';

test('no file outside runtime/ imports the runtime engine internals', () => {
  const found: string[] = [];
  for (const file of sourceFiles())
    for (const target of relativeImports(file))
      if (folderOf(file) !== 'runtime' && target.startsWith(RUNTIME_INTERNALS))
        found.push(`${file} -> ${target}`);
  assert.deepEqual(found, [], `imports of ${RUNTIME_INTERNALS} from outside runtime/:\n${found.join('\n')}`);
});

test("runtime/errors.ts declares only errors the runtime itself raises or reads; a product's live beside it", () => {
  const declared = [
    ...readFileSync(join(ROOT, 'runtime/errors.ts'), 'utf8').matchAll(/export class (\w+)/g),
  ].map((m) => m[1]!);
  const runtime = sourceFiles()
    .filter((f) => folderOf(f) === 'runtime' && f !== 'runtime/errors.ts')
    .map((f) => readFileSync(join(ROOT, f), 'utf8'));
  const unused = declared.filter((name) => !runtime.some((text) => new RegExp(`\\b${name}\\b`).test(text)));
  assert.ok(declared.length > 10, `read ${declared.length} classes from runtime/errors.ts`);
  assert.deepEqual(
    unused,
    [],
    `error classes runtime/ never uses, which belong to the layer that raises them`,
  );
});

test('no source file is over 400 lines unless listed with its reason', () => {
  const found: string[] = [];
  const files = sourceFiles().filter((f) => !GENERATED.some((g) => f.startsWith(g)));
  for (const file of files) {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n').length - 1;
    if (lines > MAX_LINES && LONG_FILES[file] === undefined) found.push(`${file}: ${lines} lines`);
    if (lines <= MAX_LINES && LONG_FILES[file] !== undefined)
      found.push(`${file}: ${lines} lines, listed as long (${LONG_FILES[file]}): take it off the list`);
  }
  for (const listed of Object.keys(LONG_FILES))
    if (!files.includes(listed)) found.push(`${listed}: listed as long but not found: take it off the list`);
  assert.deepEqual(found, [], `files over ${MAX_LINES} lines:\n${found.join('\n')}`);
});

test('the rules name only folders that have a layer', () => {
  const named = [...SAME_LAYER, ...REFUSED].flatMap((r) => [r.from, r.to]);
  for (const folder of named) assert.ok(layerOf(folder) !== undefined, `${folder} has no layer`);
  for (const rule of SAME_LAYER)
    assert.equal(layerOf(rule.from), layerOf(rule.to), `${rule.from} → ${rule.to}`);
});
