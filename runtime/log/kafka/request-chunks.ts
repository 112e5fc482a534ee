/**
 * Splits one append into produce requests no larger than a byte budget.
 * kafkajs sends a `send()` call's messages as one request per broker however
 * large, while brokers refuse requests and record batches over their limits
 * (`max.request.size` 1 MiB on the client side, `message.max.bytes` on the
 * broker; go-mokapi 0.52 stops answering a batch past 64 KiB of large
 * records). The sizes are upper bounds of the v2 record format, so a chunk
 * never exceeds the budget unless one record alone does (that record then
 * travels alone and the broker decides).
 *
 * @example
 * ```ts
 * for (const chunk of requestChunks(messages, 'rec.items', 1_048_576)) await producer.send({ topic, messages: chunk });
 * ```
 */
import type { Message } from 'kafkajs';

/** Request header, topic entry and record batch header, rounded up. */
const REQUEST_OVERHEAD = 128;
const PARTITION_OVERHEAD = 128;
/** Length, attributes, timestamp and offset deltas, key and value lengths, header count: varints at their widest. */
const RECORD_OVERHEAD = 40;
const HEADER_OVERHEAD = 10;

/** Upper bound of one message's bytes in a v2 record batch. */
export function messageBytes(message: Message): number {
  let bytes = RECORD_OVERHEAD + byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {}))
    bytes += HEADER_OVERHEAD + Buffer.byteLength(name) + byteLength(value as string | Buffer | undefined);
  return bytes;
}

function byteLength(value: string | Buffer | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/** The messages in order, cut into chunks whose requests stay within `maxRequestBytes`. */
export function requestChunks(
  messages: readonly Message[],
  topic: string,
  maxRequestBytes: number,
): Message[][] {
  const chunks: Message[][] = [];
  let chunk: Message[] = [];
  let partitions = new Set<number | undefined>();
  let bytes = REQUEST_OVERHEAD + Buffer.byteLength(topic);
  for (const message of messages) {
    const newPartition = !partitions.has(message.partition);
    const more = messageBytes(message) + (newPartition ? PARTITION_OVERHEAD : 0);
    if (chunk.length > 0 && bytes + more > maxRequestBytes) {
      chunks.push(chunk);
      chunk = [];
      partitions = new Set();
      bytes = REQUEST_OVERHEAD + Buffer.byteLength(topic) + PARTITION_OVERHEAD + messageBytes(message);
    } else {
      bytes += more;
    }
    partitions.add(message.partition);
    chunk.push(message);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
