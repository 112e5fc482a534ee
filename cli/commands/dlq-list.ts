import { withPlatform } from '../../app/platform.js';
import { DLQ_TOPIC } from '../../schemas/topics.js';
import type { Command } from '../command.js';
import { wholeNumberOption } from '../option-values.js';

export const dlqListCommand: Command = {
  name: 'dlq list',
  summary: 'list dead letters: source coordinates, processor, error, and the original bytes (base64)',
  usage: 'recstream dlq list [--limit N] [--json]',
  options: { limit: { type: 'string' }, json: { type: 'boolean' } },
  run: ({ config, values }) =>
    withPlatform(
      config,
      async ({ log, serde }) => {
        const limit = wholeNumberOption(values.limit, '--limit', 100);
        if (!(await log.describeTopic(DLQ_TOPIC))) {
          process.stdout.write(values.json ? '[]\n' : 'no dead letters (rec.dlq does not exist yet)\n');
          return 0;
        }
        const decoder = await serde.decoder('rec.dlq-value');
        const letters = [];
        for (const p of await log.offsets(DLQ_TOPIC)) {
          for (let offset = p.start; offset < p.end && letters.length < limit; ) {
            const batch = await log.read(
              DLQ_TOPIC,
              p.partition,
              offset,
              Math.min(500, limit - letters.length),
            );
            if (batch.length === 0) break;
            for (const record of batch) {
              if (record.value === null) continue;
              const letter = await decoder.decode(record.value);
              letters.push({
                dlq_partition: p.partition,
                dlq_offset: record.offset,
                ...letter,
                value: letter.value?.toString('base64') ?? null,
              });
            }
            offset = batch[batch.length - 1]!.offset + 1;
          }
        }
        if (values.json) {
          process.stdout.write(`${JSON.stringify(letters, null, 2)}\n`);
          return 0;
        }
        if (letters.length === 0) process.stdout.write('no dead letters\n');
        for (const l of letters) {
          process.stdout.write(
            `${l.source_topic}[${l.source_partition}]@${l.source_offset}  ${l.processor}  ${l.error_code}: ${l.error_message}\n`,
          );
        }
        return 0;
      },
      { readOnly: true },
    ),
};
