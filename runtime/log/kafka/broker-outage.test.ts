/**
 * A Kafka consumer whose broker goes away for longer than kafkajs' retries
 * (go-mokapi on loopback behind `test/kafka-proxy.ts`, which resets every
 * connection and refuses new ones, as a broker restart looks to clients):
 * the consumer fails with a retriable error its owner can act on, instead of
 * being restarted behind its back by kafkajs, and once closed it never
 * connects again, so a process that closed its log can exit.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { startKafkaProxy } from '../../../test/kafka-proxy.js';
import { startKafkaServer } from '../../../test/kafka-server.js';
import { missingService } from '../../../test/skips.js';
import { ConnectionError, isRetriable } from '../../errors.js';
import { sleep } from '../../retry.js';
import type { LogConsumer } from '../log.js';
import { KafkaLog } from './kafka-log.js';
import type { KafkaLogLogger } from './logging.js';

const quiet: KafkaLogLogger = { error() {}, warn() {}, info() {}, debug() {} };
const TOPIC = { name: 'kt.outage', partitions: 1 };
/** Well beyond kafkajs' retries as configured below (two tries, from 100 ms). */
const OUTAGE_MS = 8_000;

/** What the first poll that fails throws; undefined if every poll within `ms` returned. */
async function pollFailure(consumer: LogConsumer, ms: number): Promise<unknown> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      await consumer.poll({ maxRecords: 100, timeoutMs: 200 });
    } catch (error) {
      return error;
    }
  }
  return undefined;
}

const started = await startKafkaServer({ topics: [TOPIC] });

if (typeof started === 'string') {
  test('a Kafka consumer through a broker outage', (t) => {
    missingService(t, started);
  });
} else {
  after(() => started.stop());

  test('a consumer outlasted by an outage fails retriably and, once closed, never reconnects', {
    timeout: 60_000,
  }, async () => {
    const proxy = await startKafkaProxy(started.port);
    const log = new KafkaLog({
      brokers: proxy.brokers,
      logger: quiet,
      idempotent: false,
      retry: { retries: 1, initialRetryTime: 100 },
      connectionTimeoutMs: 500,
      requestTimeoutMs: 1_000,
    });
    try {
      await log.append(TOPIC.name, [{ key: 'k', value: Buffer.from('v') }]);
      const consumer = await log.consumer({ topics: [TOPIC.name], group: `kt-outage-${randomUUID()}` });
      const outage = proxy.outage(OUTAGE_MS);
      const failure = await pollFailure(consumer, OUTAGE_MS);
      assert.ok(failure instanceof ConnectionError, `expected a ConnectionError, got ${String(failure)}`);
      assert.equal(isRetriable(failure), true);
      await consumer.close();
      await outage;
      // A member kafkajs restarted on its own would rejoin the group now that the broker is back.
      const accepted = proxy.connectionsAccepted();
      await sleep(3_000);
      assert.equal(proxy.connectionsAccepted(), accepted, 'no connection after the consumer closed');
    } finally {
      await log.close();
      await proxy.close();
    }
  });
}
