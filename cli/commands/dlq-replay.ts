import { withPlatform } from '../../app/platform.js';
import type { OutgoingRecord } from '../../runtime/log/log.js';
import { DLQ_TOPIC } from '../../schemas/topics.js';
import type { Command } from '../command.js';

/** The consumer group whose committed offsets on rec.dlq mark what was re-driven already. */
export const DLQ_REPLAY_GROUP = 'recstream-dlq-replay';
/** Header on a re-driven record naming the dead letter it came from (`rec.dlq/<partition>@<offset>`). */
export const REDRIVEN_FROM_HEADER = 'recstream.redriven-from';

/**
 * `recstream dlq replay`: re-drives dead letters after a fix — each letter's
 * original key, bytes and headers appended again to its source topic and
 * partition, where the processors read it like any new record (a letter
 * that fails again becomes a new dead letter). What was re-driven is
 * remembered as the `recstream-dlq-replay` group's offsets on rec.dlq, so a
 * second run re-drives only letters that arrived since. `--topic` and
 * `--code` narrow the letters; a narrowed run records no progress, so the
 * letters it passed over are still there for a later run (which may
 * re-drive the narrowed ones again: consumers drop repeated event ids).
 * `--dry-run` only counts.
 */
export const dlqReplayCommand: Command = {
  name: 'dlq replay',
  summary: 'after a fix, re-drive dead letters to their source topics (once each; --topic, --code narrow it)',
  usage: 'recstream dlq replay [--topic TOPIC] [--code ERROR_CODE] [--dry-run] [--json]',
  options: {
    topic: { type: 'string' },
    code: { type: 'string' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  run: ({ config, values }) =>
    withPlatform(
      config,
      async ({ log, serde }) => {
        const counts: Record<string, number> = {};
        const narrowed = values.topic !== undefined || values.code !== undefined;
        let passedOver = 0;
        if (await log.describeTopic(DLQ_TOPIC)) {
          const decoder = await serde.decoder('rec.dlq-value');
          const committed = await log.committedOffsets(DLQ_REPLAY_GROUP, DLQ_TOPIC);
          for (const p of await log.offsets(DLQ_TOPIC)) {
            let offset = Math.max(p.start, committed.get(p.partition) ?? p.start);
            while (offset < p.end) {
              const batch = await log.read(DLQ_TOPIC, p.partition, offset, Math.min(1000, p.end - offset));
              if (batch.length === 0) break;
              const bySource = new Map<string, OutgoingRecord[]>();
              for (const record of batch) {
                if (record.value === null) continue;
                const letter = await decoder.decode(record.value);
                if (
                  (values.topic !== undefined && letter.source_topic !== values.topic) ||
                  (values.code !== undefined && letter.error_code !== values.code)
                ) {
                  passedOver++;
                  continue;
                }
                const records = bySource.get(letter.source_topic) ?? [];
                records.push({
                  key: letter.key,
                  value: letter.value,
                  partition: letter.source_partition,
                  timestamp: letter.source_timestamp,
                  headers: {
                    ...letter.headers,
                    [REDRIVEN_FROM_HEADER]: `${DLQ_TOPIC}/${p.partition}@${record.offset}`,
                  },
                });
                bySource.set(letter.source_topic, records);
              }
              for (const [topic, records] of bySource) {
                counts[topic] = (counts[topic] ?? 0) + records.length;
                if (!values['dry-run']) await log.append(topic, records);
              }
              offset = batch[batch.length - 1]!.offset + 1;
              // Recorded after the appends: a crash in between re-drives this batch again, which
              // the platform's consumers absorb (records carry their event ids).
              if (!values['dry-run'] && !narrowed)
                await log.commitOffsets(DLQ_REPLAY_GROUP, [
                  { topic: DLQ_TOPIC, partition: p.partition, offset },
                ]);
            }
          }
        }
        const total = Object.values(counts).reduce((a, b) => a + b, 0);
        if (values.json) {
          process.stdout.write(
            `${JSON.stringify({ redriven: values['dry-run'] ? 0 : total, would_redrive: values['dry-run'] ? total : undefined, by_topic: counts, passed_over: passedOver })}\n`,
          );
          return 0;
        }
        const verb = values['dry-run'] ? 'would re-drive' : 're-drove';
        process.stdout.write(
          total === 0
            ? `no dead letters to re-drive${passedOver > 0 ? ` (${passedOver} passed over by --topic/--code)` : ''}\n`
            : `${verb} ${total} dead letter(s): ${Object.entries(counts)
                .map(([t, n]) => `${n} to ${t}`)
                .join(', ')}${passedOver > 0 ? `; ${passedOver} passed over` : ''}\n`,
        );
        return 0;
      },
      // Beside a running process the letters go back through it (the embedded log has one writer).
      { besideHolder: true },
    ),
};
