/**
 * The shared EventLog contract against `KafkaLog` on a real Kafka-protocol
 * server (go-mokapi on loopback). One server serves the whole file; every
 * test gets its own `KafkaLog` client. What mokapi cannot do is declared as
 * unsupported, each with the reason the skipped test prints; see README.md.
 */
import { after, test } from 'node:test';
import { startKafkaServer } from '../../../test/kafka-server.js';
import { CONTRACT_TOPICS, runLogContract } from '../log.contract.js';
import { KafkaLog } from './kafka-log.js';
import type { KafkaLogLogger } from './logging.js';

const quiet: KafkaLogLogger = { error() {}, warn() {}, info() {}, debug() {} };

const started = await startKafkaServer({
  topics: CONTRACT_TOPICS.map((t) => ({ name: t.base, partitions: t.partitions })),
});

if (typeof started === 'string') {
  test('EventLog contract: kafka (go-mokapi)', (t) => {
    t.skip(started);
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
          timestampLookup:
            'go-mokapi answers ListOffsets only for earliest/latest; a timestamp gets UNKNOWN_SERVER_ERROR',
          emptyValues: 'go-mokapi returns a zero-length value as null',
          deleteTopics:
            'go-mokapi has no DeleteTopics API (key 20): kafkajs fails with KafkaJSServerDoesNotSupportApiKey',
        },
      },
    };
  });
}
