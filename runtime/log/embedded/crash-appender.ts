/**
 * Child process for the kill -9 tests (embedded-recovery.test.ts, and
 * embedded-read-only.test.ts, which reads beside it): appends to an
 * embedded log as fast as it can and prints every acknowledgement, until
 * the test kills it.
 *
 * Usage: `node crash-appender.js <dir> <topic> <partitions>`; prints `ready`,
 * then per acknowledged append `<firstSeq> <count> <partition>:<baseOffset>:<count>,...`.
 * Record `firstSeq + i` has key `k<(firstSeq + i) % 101>` and value `v<firstSeq + i>`.
 */
import { EmbeddedLog } from './embedded-log.js';

const [dirArg, topicArg, partitions] = process.argv.slice(2);
if (!dirArg || !topicArg || !partitions) throw new Error('usage: crash-appender <dir> <topic> <partitions>');
const dir = dirArg;
const topic = topicArg;

const log = await EmbeddedLog.open(dir, {
  fsync: 'never',
  segmentBytes: 16 * 1024,
  maintenanceIntervalMs: 0,
});
await log.ensureTopic({ name: topic, partitions: Number(partitions) });
process.stdout.write('ready\n');

let seq = 0;
async function appendOne(first: number, count: number): Promise<void> {
  const records = Array.from({ length: count }, (_, i) => ({
    key: `k${(first + i) % 101}`,
    value: Buffer.from(`v${first + i}`),
  }));
  const acks = await log.append(topic, records);
  process.stdout.write(
    `${first} ${count} ${acks.map((a) => `${a.partition}:${a.baseOffset}:${a.count}`).join(',')}\n`,
  );
}
for (;;) {
  // Two appends in flight at once, so group commits are part of what gets killed.
  const a = appendOne(seq, 1 + (seq % 37));
  seq += 1 + (seq % 37);
  const b = appendOne(seq, 1 + (seq % 23));
  seq += 1 + (seq % 23);
  await Promise.all([a, b]);
}
