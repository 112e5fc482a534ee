import { activeTopology, selectTopologies, withPlatform } from '../../app/platform.js';
import { openSchemaRegistry } from '../../runtime/registry/open.js';
import { platformSerde } from '../../schemas/platform.js';
import { type PlannedTopic, topicPlan } from '../../topologies/topic-plan.js';
import type { Command } from '../command.js';

export const topicsCommand: Command = {
  name: 'topics',
  summary:
    'list every topic with partitions, start/end offsets and record counts (--plan: the topics the applications need, without opening the log)',
  usage: 'recstream topics [--json] | recstream topics --plan [--app NAME|all] [--json]',
  options: { json: { type: 'boolean' }, plan: { type: 'boolean' }, app: { type: 'string' } },
  run: async ({ config, values }) => {
    if (values.plan) {
      const plan = await plannedTopics(config, values.app as string | undefined);
      process.stdout.write(values.json ? `${JSON.stringify(plan, null, 2)}\n` : planTable(plan));
      return 0;
    }
    return withPlatform(
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
    );
  },
};

/**
 * The topic plan of the selected applications in their active namespaces.
 * Building a topology needs the serde's schema ids, so this opens the
 * configured schema registry (registering the shipped schemas, as any
 * writing command does), never the log.
 */
async function plannedTopics(config: Parameters<Command['run']>[0]['config'], app: string | undefined) {
  const registry = await openSchemaRegistry({ dataDir: config.dataDir, url: config.schemaRegistryUrl });
  try {
    const topologies = await selectTopologies({ serde: platformSerde(registry), config }, app);
    const active = await Promise.all(topologies.map((t) => activeTopology(config.dataDir, t)));
    return topicPlan(active, config.partitions);
  } finally {
    await registry.close();
  }
}

function planTable(plan: readonly PlannedTopic[]): string {
  const width = Math.max(5, ...plan.map((t) => t.topic.length));
  const lines = [`${'topic'.padEnd(width)}  partitions  compacted  used by`];
  for (const t of plan) {
    const usedBy = [...t.uses, ...(t.writtenBy === undefined ? [] : [`written by ${t.writtenBy}`])].join(
      ', ',
    );
    lines.push(
      `${t.topic.padEnd(width)}  ${String(t.partitions).padStart(10)}  ${String(t.compacted).padStart(9)}  ${usedBy}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
