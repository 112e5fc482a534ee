/**
 * Child process for the read-only tests (embedded-read-only.test.ts): holds
 * an embedded log open for writing, so a test can watch it from another
 * process, and does one thing per stdin line, answering each with one
 * stdout line once it is done (so the test knows what is acknowledged).
 *
 * Usage: `node scripted-writer.js <dir> <segmentBytes>`; prints `{"ready":<pid>}`.
 * Commands (JSON, one per line) and answers:
 * - `{"op":"topic","spec":TopicSpec}` → `{"ok":true}`
 * - `{"op":"append","topic":t,"records":[{"key":k,"value":v|null,"partition"?:p}]}` → `{"acks":AppendAck[]}`
 * - `{"op":"roll"|"compact"|"retention","topic":t}` → `{"ok":true}`
 * - `{"op":"commit","group":g,"offsets":TopicPartitionOffset[]}` → `{"ok":true}`
 * - `{"op":"dump","topic":t,"partition":p}` → `{"start":s,"end":e,"records":[[offset,key,value|null],...]}`
 * - `{"op":"close"}` → `{"ok":true}`, then exits
 *
 * A failed command answers `{"error":message}`.
 */
import { createInterface } from 'node:readline';
import type { TopicPartitionOffset, TopicSpec } from '../log.js';
import { EmbeddedLog } from './embedded-log.js';

interface Command {
  readonly op: string;
  readonly topic: string;
  readonly spec: TopicSpec;
  readonly records: { key: string | null; value: string | null; partition?: number }[];
  readonly group: string;
  readonly offsets: TopicPartitionOffset[];
  readonly partition: number;
}

const [dir, segmentBytes] = process.argv.slice(2);
if (!dir || !segmentBytes) throw new Error('usage: scripted-writer <dir> <segmentBytes>');

const log = await EmbeddedLog.open(dir, {
  fsync: 'never',
  segmentBytes: Number(segmentBytes),
  maintenanceIntervalMs: 0,
});

async function run(cmd: Command): Promise<unknown> {
  switch (cmd.op) {
    case 'topic':
      await log.ensureTopic(cmd.spec);
      return { ok: true };
    case 'append': {
      const records = cmd.records.map((r) => ({
        key: r.key,
        value: r.value === null ? null : Buffer.from(r.value),
        ...(r.partition !== undefined ? { partition: r.partition } : {}),
      }));
      return { acks: await log.append(cmd.topic, records) };
    }
    case 'roll':
      await log.roll(cmd.topic);
      return { ok: true };
    case 'compact':
      await log.compact(cmd.topic);
      return { ok: true };
    case 'retention':
      await log.enforceRetention(cmd.topic);
      return { ok: true };
    case 'commit':
      await log.commitOffsets(cmd.group, cmd.offsets);
      return { ok: true };
    case 'dump': {
      const [range] = (await log.offsets(cmd.topic)).filter((o) => o.partition === cmd.partition);
      const out: [number, string | null, string | null][] = [];
      for (let offset = range!.start; offset < range!.end; ) {
        const batch = await log.read(cmd.topic, cmd.partition, offset, 1000);
        if (batch.length === 0) break;
        for (const r of batch) out.push([r.offset, r.key, r.value === null ? null : r.value.toString()]);
        offset = batch[batch.length - 1]!.offset + 1;
      }
      return { start: range!.start, end: range!.end, records: out };
    }
    case 'close':
      await log.close();
      return { ok: true };
    default:
      throw new Error(`unknown command ${cmd.op}`);
  }
}

process.stdout.write(`${JSON.stringify({ ready: process.pid })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as Command;
  try {
    process.stdout.write(`${JSON.stringify(await run(cmd))}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
  }
  if (cmd.op === 'close') break;
}
// Let the process end although the test still holds the other end of stdin.
process.stdin.destroy();
