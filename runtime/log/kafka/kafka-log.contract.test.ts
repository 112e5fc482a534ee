/**
 * The shared EventLog contract against `KafkaLog` on a real Kafka-protocol
 * server (go-mokapi on loopback). One server serves the whole file; every
 * test gets its own `KafkaLog` client. What mokapi cannot do is declared as
 * unsupported, each with the reason the skipped test prints; see README.md.
 */
import { after, test } from 'node:test';
import { startKafkaServer } from '../../../test/kafka-server.js';
import { declaredLimitReason, missingService } from '../../../test/skips.js';
import { CONTRACT_TOPICS, runLogContract } from '../log.contract.js';
import { KafkaLog } from './kafka-log.js';
import type { KafkaLogLogger } from './logging.js';

const quiet: KafkaLogLogger = { error() {}, warn() {}, info() {}, debug() {} };

const started = await startKafkaServer({
  topics: CONTRACT_TOPICS.map((t) => ({ name: t.base, partitions: t.partitions })),
});

if (typeof started === 'string') {
  test('EventLog contract: kafka (go-mokapi)', (t) => {
    missingService(t, started);
  });
} else {
  after(() => started.stop());
  runLogContract('kafka (go-mokapi)', async () => {
    const log = new KafkaLog({
      brokers: started.brokers,
      clientId: 'recstream-contract',
      logger: quiet,
      retry: { retries: 2, initialRetryTime: 100 },
      requestTimeoutMs: 10_000,
      // go-mokapi 0.52 rejects a producer's second multi-record batch with OUT_OF_ORDER_SEQUENCE_NUMBER.
      idempotent: false,
    });
    return {
      log,
      topic: (base) => base,
      cleanup: () => log.close(),
      capabilities: {
        unsupported: {
          compaction: declaredLimitReason('compaction'),
          timestampLookup: declaredLimitReason('timestampLookup'),
          emptyValues: declaredLimitReason('emptyValues'),
          deleteTopics: declaredLimitReason('deleteTopics'),
        },
      },
    };
  });
}
