/**
 * Kafka's default partitioner: murmur2 over the key's UTF-8 bytes, sign bit
 * cleared, modulo the partition count. The same key lands on the same
 * partition whether the embedded log or a Kafka producer (Java or kafkajs
 * `DefaultPartitioner`) wrote it, so co-partitioning holds across back-ends.
 *
 * @example
 * ```ts
 * partitionForKey('u42', 8); // same number the Java client computes
 * ```
 */
export function murmur2(data: Uint8Array, length: number = data.length): number {
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = seed ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4]! & 0xff) |
      ((data[i4 + 1]! & 0xff) << 8) |
      ((data[i4 + 2]! & 0xff) << 16) |
      ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length4 * 4;
  // Java's switch falls through from 3 to 1; the same, spelled as cumulative ifs.
  const rest = length & 3;
  if (rest === 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

const encoder = new TextEncoder();
// Keys are encoded into one reused buffer: processors ask for a partition per record forwarded.
const scratch = new Uint8Array(1024);

/** Partition for a non-null key, identical to Kafka's `Utils.toPositive(murmur2(key)) % n`. */
export function partitionForKey(key: string, partitions: number): number {
  const { read, written } = encoder.encodeInto(key, scratch);
  const hash = read === key.length ? murmur2(scratch, written) : murmur2(encoder.encode(key));
  return (hash & 0x7fffffff) % partitions;
}
