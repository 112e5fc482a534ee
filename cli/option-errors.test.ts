/**
 * A bad option value, tried as a new user would: every command answers one
 * line naming the option and the value, exit status 1, and no stack trace.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../test/cli.js';

test('bad option values are one-line config errors, and the demo leaves its data dir alone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-option-errors-'));
  try {
    const data = join(dir, 'data');
    const demoData = join(dir, 'demo');
    for (const [args, message] of [
      [['bench', 'serve', '--scale', 'huge'], '--scale must be one of small, full, got "huge"'],
      [['dlq', 'list', '--limit', '0'], '--limit must be a positive whole number, got "0"'],
      [['index', '--once', '--quantization', 'f8'], '--quantization must be one of f16, i8, none, got "f8"'],
      [['train', '--poll-ms', 'soon'], '--poll-ms must be a positive whole number, got "soon"'],
      [['demo', '--events', '1.5'], '--events must be a positive whole number, got "1.5"'],
      [
        ['eval', '--train', 'a', '--holdout', 'b', '--format', 'lines', '--k', '10000'],
        '--k must be a whole number from 1 to 1000, got "10000"',
      ],
      [['eval', '--train', 'a', '--holdout', 'b'], '--format is required: one of movielens, csv, lines'],
      [
        ['simulate', '--closed-loop', '--responder', 'http://127.0.0.1:9', '--click-model', 'dbn'],
        '--click-model must be one of choice, cascade, got "dbn"',
      ],
      [
        ['simulate', '--click-model', 'cascade'],
        '--responder, --duration and --click-model are options of --closed-loop',
      ],
      [
        ['eval', '--train', 'a', '--holdout', 'b', '--format', 'xml'],
        '--format must be one of movielens, csv, lines, got "xml"',
      ],
    ] as const) {
      const run = await runCli([...args, '--data-dir', args[0] === 'demo' ? demoData : data]);
      const what = `${args.join(' ')}: ${run.stderr}`;
      assert.equal(run.code, 1, what);
      assert.equal(run.stderr, `recstream: ${message} [CONFIG_INVALID]\n`, what);
    }
    assert.equal(existsSync(demoData), false, 'the demo refused its options before it made its data dir');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
