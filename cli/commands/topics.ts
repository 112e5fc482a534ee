import type { Command } from '../command.js';
import { withPlatform } from '../platform.js';

export const topicsCommand: Command = {
  name: 'topics',
  summary: 'list every topic with partitions, start/end offsets and record counts',
  usage: 'recstream topics [--json]',
  options: { json: { type: 'boolean' } },
  run: ({ config, values }) =>
    withPlatform(
      config,
      async ({ log }) => {
        const rows = [];
        for (const topic of (await log.topics()).sort((a, b) => a.name.localeCompare(b.name))) {
          const partitions = await log.offsets(topic.name);
          // Compacted topics have gaps: end - start is an upper bound, which is what Kafka tools report too.
          const records = partitions.reduce((n, p) => n + (p.end - p.start), 0);
          rows.push({
            topic: topic.name,
            partitions: topic.partitions,
            compacted: topic.compacted,
            records,
            offsets: partitions,
          });
        }
        if (values.json) {
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return 0;
        }
        const width = Math.max(5, ...rows.map((r) => r.topic.length));
        process.stdout.write(`${'topic'.padEnd(width)}  partitions  compacted  records  end offsets\n`);
        for (const r of rows) {
          const ends = r.offsets.map((p) => p.end).join(',');
          process.stdout.write(
            `${r.topic.padEnd(width)}  ${String(r.partitions).padStart(10)}  ${String(r.compacted).padStart(9)}  ${String(r.records).padStart(7)}  ${ends}\n`,
          );
        }
        return 0;
      },
      { readOnly: true },
    ),
};
