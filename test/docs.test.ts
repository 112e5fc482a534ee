/**
 * The user documentation holds together: every relative link in README.md
 * and docs/*.md names a file that exists (and, with a `#fragment`, a heading
 * of that file), every setting `recstream --help` lists is documented in
 * docs/deploying.md, and the README keeps the two quick-start commands and
 * the markers `recstream bench report` writes the headline figures between.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONFIG_SCHEMA } from '../runtime/config.js';

// dist/test/docs.test.js → the repository root.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function documents(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(ROOT, 'docs', name));
  return [join(ROOT, 'README.md'), ...docs];
}

/** The lines of a Markdown file outside fenced code blocks, where links and headings count. */
function proseLines(text: string): string[] {
  let fenced = false;
  return text.split('\n').filter((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of proseLines(readFileSync(file, 'utf8'))) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count === 0 ? base : `${base}-${count}`);
  }
  return out;
}

/** Inline links `[text](target)`, without the images' and the external ones. */
function relativeLinks(file: string): { target: string; line: number }[] {
  const links: { target: string; line: number }[] = [];
  const text = readFileSync(file, 'utf8');
  let fenced = false;
  text.split('\n').forEach((line, index) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) return;
    const prose = line.replace(/`[^`]*`/g, '');
    for (const match of prose.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
      const target = match[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      links.push({ target, line: index + 1 });
    }
  });
  return links;
}

test('every relative link in README.md and docs/*.md resolves to a file, and a fragment to a heading', () => {
  const broken: string[] = [];
  for (const file of documents()) {
    for (const { target, line } of relativeLinks(file)) {
      const [path, fragment] = target.split('#', 2) as [string, string | undefined];
      const resolved = path === '' ? file : join(dirname(file), decodeURIComponent(path));
      const where = `${relative(ROOT, file)}:${line} → ${target}`;
      if (!existsSync(resolved)) {
        broken.push(`${where} (no such file)`);
        continue;
      }
      if (fragment && resolved.endsWith('.md') && statSync(resolved).isFile()) {
        if (!anchors(resolved).has(fragment)) broken.push(`${where} (no such heading)`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

/** The repository's top-level folders: a code path in the docs starts with one of them. */
function topFolders(): Set<string> {
  return new Set(
    readdirSync(ROOT, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
      .filter((name) => !['node_modules', 'dist'].includes(name)),
  );
}

test('every source path the docs name in backticks exists, so a moved file cannot leave a guide behind', () => {
  const folders = topFolders();
  const missing: string[] = [];
  for (const file of documents()) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, index) => {
        for (const match of line.matchAll(
          /`([A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]*\.(?:ts|js|mjs|py|sh|md|json|yml|yaml))`/g,
        )) {
          const path = match[1]!;
          if (!folders.has(path.split('/')[0]!)) continue;
          if (!existsSync(join(ROOT, path))) missing.push(`${relative(ROOT, file)}:${index + 1}: ${path}`);
        }
      });
  }
  assert.deepEqual(missing, []);
});

test('every setting recstream reads is documented in docs/deploying.md', () => {
  const deploying = readFileSync(join(ROOT, 'docs', 'deploying.md'), 'utf8');
  const missing = Object.values(CONFIG_SCHEMA)
    .map((setting) => setting.env)
    .filter((env) => !deploying.includes(`\`${env}\``));
  assert.deepEqual(missing, []);
});

test('README.md keeps the quick-start commands and the headline figures block', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  // .ci/run and scripts/setup.sh run "the README's test command".
  assert.ok(
    readme.includes('bash scripts/setup.sh && npx recstream demo   # set up, then run the main job\n'),
  );
  assert.ok(readme.includes('bash scripts/setup.sh --tests && npm test     # set up, then run every test\n'));
  const start = readme.indexOf('<!-- bench:headline:start -->');
  const end = readme.indexOf('<!-- bench:headline:end -->');
  assert.ok(start >= 0 && end > start, 'the headline markers, start before end');
  assert.equal(readme.indexOf('<!-- bench:headline:start -->', start + 1), -1, 'one headline block');
});

/** What docs/layers.md's "Where is it" table must answer, each in one hop. */
const WHERE_IS = [
  'the canary',
  'the gate',
  'A/B assignment',
  'the off-policy estimators',
  'the sequential test',
  'the feature contract',
  'the processor API',
  'the online store',
  'the model registry',
  'the schema registry',
];

test('docs/layers.md says where each part a newcomer looks for lives, and every path it names exists', () => {
  const text = readFileSync(join(ROOT, 'docs', 'layers.md'), 'utf8');
  const section = text.split('\n## Where is it\n')[1]?.split('\n## ')[0];
  assert.ok(section !== undefined, 'docs/layers.md has a "Where is it" section');
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length === 4 && cells[1] !== 'where is' && !/^-+$/.test(cells[1]!))
      rows.set(cells[1]!, cells[2]!);
  }
  assert.deepEqual(
    WHERE_IS.filter((question) => !rows.has(question)),
    [],
    'questions the table does not answer',
  );
  const missing: string[] = [];
  for (const [question, answer] of rows) {
    const paths = [...answer.matchAll(/`([\w./-]+\/[\w./-]*)`/g)].map((m) => m[1]!);
    if (paths.length === 0) missing.push(`${question}: names no path`);
    for (const path of paths) if (!existsSync(join(ROOT, path))) missing.push(`${question}: ${path}`);
  }
  assert.deepEqual(missing, [], 'paths in the "Where is it" table that do not exist');
});
