/**
 * The Kafka-protocol server going away and coming back while `recstream
 * process` (`features` and `interaction-counts`) works through a backlog on
 * Kafka. The broker is go-mokapi behind a loopback proxy (`test/kafka-proxy.ts`)
 * that models a broker restart as clients see it: every connection reset,
 * new connections refused for a while, then accepted again with the log
 * intact. Two outages: a short one that kafkajs' own retries ride out, and a
 * long one that outlasts them, so the processor's retry loop resumes from
 * its last commit. Then: the processor is still running, every event is
 * counted once, and the stores equal a clean run's on the embedded log, byte
 * for byte.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KafkaLog } from '../../runtime/log/kafka/kafka-log.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { type CliResult, finished, runCliOk, startCli, stateDigests } from '../cli.js';
import { countedInteractions } from '../interaction-counts.js';
import { PIPELINE_APPS, PIPELINE_SETTINGS, PIPELINE_WORLD, startKafkaPlatform } from '../kafka-pipeline.js';
import { startKafkaProxy } from '../kafka-proxy.js';
import { waitUntil } from '../listening.js';
import { missingService } from '../skips.js';
import { reportFigure } from './figures.js';

const EVENTS = 40_000;
const PARTITIONS = 4;
/** The outages, in order: within kafkajs' retries (about 10 s in all), then well beyond them. */
const OUTAGES_MS = [5_000, 20_000];

/**
 * Topics each application's consumer group reads (`recstream describe`):
 * what "caught up" is measured on. A topic missing here would end the wait
 * early, and the digests would then differ; it cannot make the test pass.
 */
const SOURCES: Readonly<Record<string, readonly string[]>> = {
  features: [
    'rec.items',
    'rec.users',
    'rec.interactions',
    'rec.recommendations',
    'rec.interactions.enriched',
  ],
  'interaction-counts': ['rec.interactions'],
};

/**
 * go-mokapi's own decoding faults, met with and without outages: a fetch of
 * a partition being appended to can come back half-written
 * (runtime/log/kafka/README.md), and kafkajs then fails the consumer with one
 * of these. A processor that exits with one of them is restarted (counted in
 * the figures); any other exit fails the test.
 */
const MOKAPI_HALF_WRITTEN_FETCH = /Invalid array length|Attempt to access memory outside buffer bounds/;

/** Records not yet committed by the applications' groups, over all their source partitions. */
async function lag(log: KafkaLog): Promise<number> {
  let total = 0;
  for (const [group, topics] of Object.entries(SOURCES))
    for (const topic of topics) {
      const committed = await log.committedOffsets(group, topic);
      for (const o of await log.offsets(topic)) total += o.end - (committed.get(o.partition) ?? 0);
    }
  return total;
}

/** `recstream process` kept running: restarted after a go-mokapi decoding fault, failing on any other exit. */
class Processing {
  private child!: ChildProcess;
  private exit!: Promise<CliResult>;
  private stopping = false;
  restarts = 0;
  /** Times the processor's loop logged a retriable failure and resumed from its last commit. */
  resumes = 0;
  unexpected: CliResult | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly env: Record<string, string>,
  ) {
    this.start();
  }

  private start(): void {
    this.child = startCli(
      ['process', '--app', PIPELINE_APPS.join(','), '--data-dir', this.dataDir],
      this.env,
    );
    this.exit = finished(this.child);
    this.child.stderr?.on('data', (d: Buffer) => {
      this.resumes += d.toString().split('resuming from the last commit').length - 1;
    });
    void this.exit.then((result) => {
      if (this.stopping) return;
      if (result.code !== 0 && MOKAPI_HALF_WRITTEN_FETCH.test(result.stderr)) {
        this.restarts++;
        this.start();
      } else this.unexpected = result;
    });
  }

  /** Fails the test if the processor exited other than by a go-mokapi decoding fault. */
  check(): void {
    if (this.unexpected)
      assert.fail(`process exited ${this.unexpected.code}: ${this.unexpected.stderr.slice(-4000)}`);
  }

  /** SIGTERM; it must exit 0. */
  async stop(): Promise<void> {
    this.check();
    this.stopping = true;
    this.child.kill('SIGTERM');
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 60_000);
    const result = await this.exit.finally(() => clearTimeout(kill));
    assert.equal(
      result.code,
      0,
      `exit ${result.code}, signal ${result.signal}: ${result.stderr.slice(-4000)}`,
    );
  }
}

/** The same world on the embedded log, processed to its end in one go: the reference stores. */
async function cleanDigests(dataDir: string): Promise<Record<string, string>> {
  await runCliOk(['topics', '--plan', '--data-dir', dataDir], PIPELINE_SETTINGS);
  await runCliOk(
    ['simulate', ...PIPELINE_WORLD, '--events', String(EVENTS), '--data-dir', dataDir],
    PIPELINE_SETTINGS,
  );
  await runCliOk(
    ['process', '--once', '--app', PIPELINE_APPS.join(','), '--data-dir', dataDir],
    PIPELINE_SETTINGS,
  );
  return stateDigests(dataDir, PIPELINE_APPS, PIPELINE_SETTINGS);
}

test('the Kafka-protocol server going away mid-backlog: processing resumes, counts once, stores equal a clean run', {
  timeout: 900_000,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-kafka-outage-'));
  try {
    const platform = await startKafkaPlatform(dir);
    if (typeof platform === 'string') return missingService(t, platform);
    const proxy = await startKafkaProxy(Number(platform.brokers[0]!.split(':').at(-1)));
    // The test's own reads go straight to the broker: they must not fail during an outage.
    const log = new KafkaLog({ brokers: platform.brokers, logger: silentLogger(), idempotent: false });
    const env = {
      ...platform.env,
      ...PIPELINE_SETTINGS,
      RECSTREAM_KAFKA_BROKERS: proxy.brokers.join(','),
      // Short timeouts, so an outage is noticed within seconds, as it would be on a loaded cluster.
      RECSTREAM_KAFKA_REQUEST_TIMEOUT_MS: '3000',
      RECSTREAM_COMMIT_INTERVAL_MS: '1000',
    };
    const data = join(dir, 'kafka');
    let processing: Processing | undefined;
    try {
      await runCliOk(['topics', '--plan', '--data-dir', data], env);
      await runCliOk(['simulate', ...PIPELINE_WORLD, '--events', String(EVENTS), '--data-dir', data], env);
      const backlog = await lag(log);
      processing = new Processing(data, env);
      const running = processing;
      const changelogs = platform.topics
        .map((topic) => topic.name)
        .filter((name) => name.endsWith('.changelog'));
      // What the processor has committed: its changelogs grow at every commit, and reading their
      // ends is one cheap request per topic.
      const committedRecords = async () => {
        let total = 0;
        for (const name of changelogs) for (const o of await log.offsets(name)) total += o.end;
        return total;
      };
      const until = (what: string, probe: () => Promise<boolean>) =>
        waitUntil(
          what,
          async () => {
            running.check();
            return probe();
          },
          300_000,
        );
      await until('the processor committed', async () => (await committedRecords()) > 0);
      const outages: { ms: number; committedAtStart: number; recoveryMs: number; reset: number }[] = [];
      for (const ms of OUTAGES_MS) {
        const resetBefore = proxy.connectionsReset();
        const over = proxy.outage(ms);
        // Read straight from the broker while it is away from the processor. Commits growing
        // after the outage show it came mid-backlog: work committed only after it came back.
        const mark = await committedRecords();
        await over;
        const back = Date.now();
        await until(
          `commits resumed after the ${ms} ms outage`,
          async () => (await committedRecords()) > mark,
        );
        outages.push({
          ms,
          committedAtStart: mark,
          recoveryMs: Date.now() - back,
          reset: proxy.connectionsReset() - resetBefore,
        });
      }
      await until('the processor went through the whole backlog', async () => (await lag(log)) === 0);
      await processing.stop();
      const counted = await countedInteractions(data, PARTITIONS, env);
      assert.equal(counted, EVENTS, 'every event counted once');
      const afterOutages = await stateDigests(data, PIPELINE_APPS, env);
      const clean = await cleanDigests(join(dir, 'embedded'));
      assert.ok(Object.keys(clean).length > 0);
      assert.deepEqual(afterOutages, clean, 'stores equal a clean run’s');
      reportFigure(t, 'kafka-outage', {
        events: EVENTS,
        backlog_records: backlog,
        outages: outages.length,
        outage_ms: outages.map((o) => o.ms).join('+'),
        changelog_records_at_outage_start: outages.map((o) => o.committedAtStart).join('+'),
        changelog_records_at_end: await committedRecords(),
        connections_reset: outages.map((o) => o.reset).join('+'),
        recovery_ms: outages.map((o) => o.recoveryMs).join('+'),
        counted_once: counted,
        lost: EVENTS - counted,
        processor_resumes_from_last_commit: processing.resumes,
        processor_restarts_mokapi_fetch: processing.restarts,
        digest_equal: true,
      });
    } finally {
      if (processing && !processing.unexpected) await processing.stop().catch(() => undefined);
      await log.close();
      await proxy.close();
      await platform.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
