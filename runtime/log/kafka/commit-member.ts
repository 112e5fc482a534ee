/**
 * A short-lived member of a consumer group that never fetches: it joins
 * holding the given partitions to commit offsets on the group's behalf (what
 * kafkajs' `admin.setOffsets` and Kafka's tooling do), or to read the group's
 * committed offsets on brokers that answer OffsetFetch only to members.
 * Active members of the group rebalance once when it joins and once when it
 * leaves.
 *
 * @example
 * ```ts
 * const member = await CommitMember.open(host, 'catalog', [{ topic: 'rec.items', partition: 0 }]);
 * try {
 *   await member.commit([{ topic: 'rec.items', partition: 0, offset: 42 }]);
 * } finally {
 *   await member.close();
 * }
 * ```
 */
import { TopicError } from '../../errors.js';
import type { TopicPartition, TopicPartitionOffset } from '../log.js';
import { type ConsumerHost, GroupMember, tpKey } from './group-member.js';

export class CommitMember extends GroupMember {
  private constructor(host: ConsumerHost, group: string, tps: readonly TopicPartition[]) {
    super(host, group, tps);
  }

  /** Joins `group` holding `tps` (each checked to exist; repeats are held once). */
  static async open(
    host: ConsumerHost,
    group: string,
    tps: readonly TopicPartition[],
  ): Promise<CommitMember> {
    host.assertOpen();
    for (const tp of tps) {
      const count = await host.partitionCount(tp.topic);
      if (!Number.isInteger(tp.partition) || tp.partition < 0 || tp.partition >= count) {
        throw new TopicError(
          `partition ${tp.partition} does not exist in topic ${tp.topic} (${count} partitions)`,
          'UNKNOWN_PARTITION',
        );
      }
    }
    const unique = [
      ...new Map(
        tps.map((tp) => [tpKey(tp.topic, tp.partition), { topic: tp.topic, partition: tp.partition }]),
      ).values(),
    ];
    const member = new CommitMember(host, group, unique);
    await member.join();
    return member;
  }

  protected afterJoin(): void {
    this.pauseAll();
  }

  protected async onBatch(): Promise<void> {}

  /** Commits these offsets for the group; each partition must be one the member holds. */
  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.assertUsable();
    await this.commitList(offsets);
  }
}
