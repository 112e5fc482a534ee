/**
 * A running loop rides out a log that stops answering: a retriable failure
 * while processing resumes from the last commit, and a retriable failure
 * while resuming (reading the changelogs' offsets to restore, with the
 * broker still away) is retried the same way instead of ending the run.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PLATFORM_TOPICS } from '../../schemas/topics.js';
import { ConnectionError } from '../errors.js';
import { EmbeddedLog } from '../log/embedded/embedded-log.js';
import type { EventLog, LogConsumer } from '../log/log.js';
import { silentLogger } from '../observability/logger.js';
import { jsonLetters, wordCount } from '../processor/word-count.fixture.js';
import { sleep } from '../retry.js';
import { StreamRunner } from './runner.js';

/** The log, failing every read and poll with a retriable ConnectionError while `down` is set. */
function unreliable(log: EmbeddedLog): { log: EventLog; down: { value: boolean }; failures: () => number } {
  const down = { value: false };
  let failures = 0;
  const check = () => {
    if (down.value) {
      failures++;
      throw new ConnectionError('the broker is not answering');
    }
  };
  const wrapped = new Proxy(log, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop === 'offsets' || prop === 'read')
        return async (...args: unknown[]) => {
          check();
          return value.apply(target, args);
        };
      if (prop === 'consumer')
        return async (...args: unknown[]) => {
          check();
          const consumer = (await value.apply(target, args)) as LogConsumer;
          return new Proxy(consumer, {
            get(c, p, r) {
              const member = Reflect.get(c, p, r);
              if (typeof member !== 'function') return member;
              if (p === 'poll')
                return async (...a: unknown[]) => {
                  check();
                  return member.apply(c, a);
                };
              return member.bind(c);
            },
          });
        };
      return value.bind(target);
    },
  }) as unknown as EventLog;
  return { log: wrapped, down, failures: () => failures };
}

test('a log down while processing and while resuming: the loop retries, then processes everything once', {
  timeout: 60_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-runner-retry-'));
  const base = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  try {
    await base.ensureTopic({ name: 'rec.lines', partitions: 2 });
    const { log, down, failures } = unreliable(base);
    const runner = await StreamRunner.start({
      topology: wordCount(),
      log,
      stateDir: join(dir, 'state'),
      engine: 'rocksdb',
      commitIntervalMs: 20,
      deadLetters: jsonLetters,
      topics: PLATFORM_TOPICS,
      logger: silentLogger(),
    });
    const running = runner.run();
    await base.append('rec.lines', [{ key: 'a', value: Buffer.from('one two') }]);
    for (let i = 0; i < 1000 && runner.progress().commits === 0; i++) await sleep(10);
    // Down long enough for several failed polls and failed resumes (backoff starts at 100 ms).
    down.value = true;
    await sleep(1500);
    down.value = false;
    await base.append('rec.lines', [{ key: 'b', value: Buffer.from('two three') }]);
    const words = async () => {
      const out: string[] = [];
      for (const p of await base.offsets('rec.word-counts'))
        for (const r of await base.read('rec.word-counts', p.partition, p.start, 1000))
          out.push(r.value!.toString());
      return out.sort();
    };
    for (let i = 0; i < 1000 && (await words()).length < 4; i++) await sleep(10);
    runner.stop();
    await running;
    assert.ok(failures() >= 2, `only ${failures()} calls failed while the log was down`);
    assert.deepEqual(await words(), ['one=1', 'three=1', 'two=1', 'two=2']);
  } finally {
    await base.close();
    await rm(dir, { recursive: true, force: true });
  }
});
