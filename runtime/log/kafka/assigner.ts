/**
 * A kafkajs partition assigner that gives every group member exactly the
 * partitions it asked for. kafkajs has no `consumer.assign()`; the port's
 * consumers own a fixed assignment, so each member states it in its join
 * metadata and the leader hands it back unchanged. Two members may hold the
 * same partition (the classic group protocol does not forbid it), which is
 * what independent `assign()` consumers sharing a group id do in Java too.
 *
 * The factory also hands out the consumer's `Cluster`: kafkajs passes it to
 * assigners, and it is the only typed way to reach the group coordinator on
 * the member's own connection (needed to read committed offsets on brokers
 * that answer OffsetFetch only to members).
 *
 * @example
 * ```ts
 * const fixed = fixedAssigner({ 'rec.items': [0, 2] });
 * const consumer = kafka.consumer({ groupId, partitionAssigners: [fixed.assigner] });
 * // after run(): fixed.cluster() is the consumer's cluster
 * ```
 */
import kafkajs, { type Assigner, type Cluster, type PartitionAssigner } from 'kafkajs';

/** Protocol name every recstream consumer offers when it joins a group. */
export const FIXED_ASSIGNER_PROTOCOL = 'RecstreamFixedAssigner';

/** topic → partitions, the shape kafkajs uses in member assignments. */
export type PartitionsByTopic = Record<string, number[]>;

export interface FixedAssigner {
  readonly assigner: PartitionAssigner;
  /** The cluster kafkajs gave the assigner factory; undefined until the consumer is created. */
  cluster(): Cluster | undefined;
}

function parseWanted(userData: Buffer | undefined): PartitionsByTopic {
  if (!userData || userData.length === 0) return {};
  const parsed = JSON.parse(userData.toString('utf8')) as unknown;
  if (!parsed || typeof parsed !== 'object') return {};
  const out: PartitionsByTopic = {};
  for (const [topic, partitions] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(partitions)) out[topic] = partitions.filter((p): p is number => Number.isInteger(p));
  }
  return out;
}

/** An assigner for one member whose wanted assignment is `wanted`. */
export function fixedAssigner(wanted: PartitionsByTopic): FixedAssigner {
  const { MemberMetadata, MemberAssignment } = kafkajs.AssignerProtocol;
  let captured: Cluster | undefined;
  const assigner: PartitionAssigner = ({ cluster }) => {
    captured = cluster;
    const self: Assigner = {
      name: FIXED_ASSIGNER_PROTOCOL,
      version: 0,
      async assign({ members }) {
        return members.map(({ memberId, memberMetadata }) => {
          const metadata = MemberMetadata.decode(memberMetadata);
          return {
            memberId,
            memberAssignment: MemberAssignment.encode({
              version: 0,
              assignment: parseWanted(metadata?.userData),
              userData: Buffer.alloc(0),
            }),
          };
        });
      },
      protocol({ topics }) {
        return {
          name: FIXED_ASSIGNER_PROTOCOL,
          metadata: MemberMetadata.encode({
            version: 0,
            topics,
            userData: Buffer.from(JSON.stringify(wanted), 'utf8'),
          }),
        };
      },
    };
    return self;
  };
  return { assigner, cluster: () => captured };
}
