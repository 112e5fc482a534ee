/**
 * The feature contract's names appear once: every ONNX input and output
 * name and every artifact file name is a value of `features/` (and of the
 * Python spec generated from it), never a literal elsewhere, and no
 * encoder writes a dense lane at a numbered offset. The names checked are
 * read from the contract itself, so a name added there is checked here.
 *
 * TypeScript is read token by token (string literals, not comments or
 * messages); the engine's Python line by line (quoted strings outside
 * comments). Tests, test support and the `test/` and `deploy/` helpers are
 * exempt, as in layers.test.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { FEATURE_SERVICE, MODEL_ARTIFACTS, VOCABULARY_KINDS } from '../features/feature-service.js';
import { INTERACTION_TYPE_SYMBOLS } from '../schemas/generated/types.js';

// dist/test/contract-names.test.js → the repository root.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The names of the contract: artifact files, each model's outputs and
 * inputs. Names that are also a vocabulary or an interaction type (`user`,
 * `item`, `language`, `click`) are left out: those words name other things
 * all over the code, so a literal of one says nothing about the models.
 */
const OTHER_MEANINGS = new Set<string>([...VOCABULARY_KINDS, ...INTERACTION_TYPE_SYMBOLS]);
const NAMES: ReadonlySet<string> = new Set<string>(
  [
    ...Object.values(MODEL_ARTIFACTS),
    ...Object.values(FEATURE_SERVICE).flatMap((m) => [
      m.file,
      ...m.outputs,
      ...m.features.map((f) => f.name),
    ]),
  ].filter((name) => !OTHER_MEANINGS.has(name)),
);

/** Where the names are declared, or generated from the declaration. */
const DECLARED = ['features/', 'schemas/generated/', 'models/recstream_models/feature_spec.py'];
const EXEMPT_FOLDERS = new Set(['test', 'deploy', 'node_modules', 'dist', 'docs', 'data']);

/**
 * Engine modules that still name columns and inputs by hand, each with what
 * is left to derive: the debt this test keeps visible. Remove an entry
 * once its file reads the generated spec.
 */
const NOT_YET_DERIVED: Readonly<Record<string, string>> = {};

const isTest = (path: string) =>
  /\.(test|fixture|contract)\.ts$/.test(path) || path.endsWith('/test-support.ts');

function files(dir = ROOT, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const rel = relative(ROOT, path).split(sep).join('/');
    if (entry.isDirectory()) {
      if (!EXEMPT_FOLDERS.has(rel)) files(path, out);
    } else if (
      (rel.endsWith('.ts') && !isTest(rel)) ||
      (rel.endsWith('.py') && rel.startsWith('models/recstream_models/'))
    ) {
      out.push(rel);
    }
  }
  return out;
}

/** The string literals of a TypeScript source that are contract names. */
function tsLiterals(source: string): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && NAMES.has(node.text))
      found.push(node.text);
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile('source.ts', source, ts.ScriptTarget.Latest));
  return found;
}

/** The quoted strings of a Python source, outside comments, that are contract names. */
function pyLiterals(source: string): string[] {
  return source
    .split('\n')
    .flatMap((line) => [...line.replace(/#.*/, '').matchAll(/(["'])([^"'\n]*)\1/g)].map((m) => m[2]!))
    .filter((value) => NAMES.has(value));
}

test('the names checked are the contract\u2019s', () => {
  for (const name of ['user_tower.onnx', 'dataset.json', 'embedding', 'history_items', 'cross_dense'])
    assert.ok(NAMES.has(name), `${name} is not among [${[...NAMES].join(', ')}]`);
});

test('no ONNX input or output name or artifact file name is a literal outside features/', () => {
  const found: string[] = [];
  for (const path of files()) {
    if (DECLARED.some((d) => path.startsWith(d)) || NOT_YET_DERIVED[path] !== undefined) continue;
    const source = readFileSync(join(ROOT, path), 'utf8');
    const literals = path.endsWith('.py') ? pyLiterals(source) : tsLiterals(source);
    if (literals.length > 0) found.push(`${path}: ${[...new Set(literals)].join(', ')}`);
  }
  assert.deepEqual(found, [], `name these through features/ (or feature_spec.py):\n${found.join('\n')}`);
});

test('every module listed as not yet derived still names something by hand', () => {
  for (const path of Object.keys(NOT_YET_DERIVED))
    assert.ok(
      pyLiterals(readFileSync(join(ROOT, path), 'utf8')).length > 0,
      `${path} is derived now: unlist it`,
    );
});

test('no encoder writes a lane at a numbered offset', () => {
  const found = files()
    .filter((path) => path.endsWith('.ts'))
    .filter((path) => /\[\s*at\s*\+\s*\d+\s*\]/.test(readFileSync(join(ROOT, path), 'utf8')));
  assert.deepEqual(found, [], 'write lanes by name: laneIndex (features/dense-lanes.ts)');
});
