/**
 * The order in which a bounded input ends, processor by processor
 * (`Processor.endOfInput`): a processor fed only by the application's
 * input topics ends in stage 0; one that reads an internal topic (a
 * repartition the topology writes and reads itself) ends one stage after
 * every processor writing that topic, once what they forwarded on ending
 * has been read. `user-features` therefore releases its waiting events
 * before `item-features`, which merges them, is told its input ended.
 *
 * @example
 * ```ts
 * const stages = endOfInputStages(topology); // Map { 'user-features' => 0, 'item-features' => 1 }
 * ```
 */
import type { Topology } from '../topology.js';

/** Each processor's stage; a cycle through internal topics is cut at the topology's size. */
export function endOfInputStages(topology: Topology): Map<string, number> {
  const writers = new Map<string, string[]>();
  for (const sink of topology.sinks) for (const parent of sink.parents) push(writers, sink.topic, parent);
  const stages = new Map<string, number>();
  const sourceStage = (name: string): number => {
    const node = topology.node(name);
    if (node.kind !== 'source') return stages.get(name) ?? 0;
    let stage = 0;
    for (const topic of node.topics)
      for (const writer of writers.get(topic) ?? []) stage = Math.max(stage, (stages.get(writer) ?? 0) + 1);
    return stage;
  };
  const limit = topology.processors.length + 1;
  for (let round = 0; round < limit; round++) {
    let changed = false;
    for (const processor of topology.processors) {
      const stage = Math.min(limit, Math.max(0, ...processor.parents.map(sourceStage)));
      if (stages.get(processor.name) !== stage) {
        stages.set(processor.name, stage);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return stages;
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
