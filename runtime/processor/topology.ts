/**
 * Topologies are data: sources, processors, stores and sinks with names and
 * edges, built with `TopologyBuilder` and printed by `describe()` (pinned by
 * a test, shown by `recstream describe`). Nothing here runs anything.
 *
 * @example
 * ```ts
 * const topology = new TopologyBuilder('counts')
 *   .addSource('events', ['rec.interactions'], bytesDeserializer)
 *   .addProcessor('count', () => new CountPerKey(), ['events'])
 *   .addStore({ name: 'counts', codec: numberCodec }, ['count'])
 *   .addSink('out', 'rec.counts', numberSerializer, ['count'])
 *   .build();
 * console.log(String(topology.describe()));
 * ```
 */
import { TopologyError } from '../errors.js';
import type { ValueCodec } from '../state/store.js';
import type { Processor, ValueDeserializer, ValueSerializer } from './processor.js';

export interface SourceNode {
  readonly kind: 'source';
  readonly name: string;
  readonly topics: readonly string[];
  readonly deserializer: ValueDeserializer<unknown>;
}

export interface ProcessorNode {
  readonly kind: 'processor';
  readonly name: string;
  readonly parents: readonly string[];
  readonly supplier: () => Processor<unknown, unknown>;
  readonly stores: readonly string[];
}

export interface SinkNode {
  readonly kind: 'sink';
  readonly name: string;
  readonly topic: string;
  readonly parents: readonly string[];
  readonly serializer: ValueSerializer<unknown>;
}

export interface StoreDeclaration {
  readonly name: string;
  readonly codec: ValueCodec<unknown>;
  /** Entries of decoded values kept in the read cache per task. */
  readonly cacheEntries?: number;
  /**
   * The store's keys are the input records' keys (a per-user or per-item
   * view). The runner then loads every polled batch's keys in one read
   * before processing it, instead of one read per cache miss.
   */
  readonly keyedByRecordKey?: boolean;
}

export interface StoreNode extends StoreDeclaration {
  /** The processor that owns the store; its changelog is `rec.<processor>.<store>.changelog`. */
  readonly owner: string;
  readonly changelogTopic: string;
}

/**
 * Folds one record of a global table's topic into the entry of its key:
 * `value` null is a tombstone; returning undefined removes the key. Must
 * not mutate `current`: readers may hold it.
 */
export type GlobalTableReducer<V, S> = (
  current: S | undefined,
  value: V | null,
  record: { readonly key: string; readonly timestamp: number },
) => S | undefined;

/**
 * A table built from every partition of a topic and readable by every task
 * (`ctx.globalTable(name)`). The runner reads the topic to its end before
 * the first record is processed, then keeps up with it before each batch.
 * Held in memory: meant for small dimension tables such as the catalog.
 */
export interface GlobalTableNode {
  readonly name: string;
  readonly topic: string;
  readonly deserializer: ValueDeserializer<unknown>;
  readonly reduce: GlobalTableReducer<unknown, unknown>;
}

export type Node = SourceNode | ProcessorNode | SinkNode;

export interface Topology {
  readonly applicationId: string;
  readonly sources: readonly SourceNode[];
  readonly processors: readonly ProcessorNode[];
  readonly sinks: readonly SinkNode[];
  readonly stores: readonly StoreNode[];
  readonly globalTables: readonly GlobalTableNode[];
  /** Names of the nodes each node forwards to, in declaration order. */
  children(name: string): readonly string[];
  node(name: string): Node;
  /** Every topic read by a source. */
  sourceTopics(): readonly string[];
  /** Every topic written by a sink. */
  sinkTopics(): readonly string[];
  /** The graph as data (Kafka Streams' TopologyDescription); `String(description)` prints it. */
  describe(): TopologyDescription;
}

/** One node of a TopologyDescription, with the names of its neighbours. */
export type NodeDescription =
  | {
      readonly kind: 'source';
      readonly name: string;
      readonly topics: readonly string[];
      readonly children: readonly string[];
    }
  | {
      readonly kind: 'processor';
      readonly name: string;
      readonly stores: readonly string[];
      readonly children: readonly string[];
      readonly parents: readonly string[];
    }
  | {
      readonly kind: 'sink';
      readonly name: string;
      readonly topic: string;
      readonly parents: readonly string[];
    };

/**
 * What `describe()` returns: the nodes in the order a reader follows them
 * (depth first from each source), the stores with their changelogs, and
 * the global tables. `toString()` is the text `recstream describe` prints.
 */
export interface TopologyDescription {
  readonly applicationId: string;
  readonly nodes: readonly NodeDescription[];
  readonly stores: readonly {
    readonly name: string;
    readonly owner: string;
    readonly changelogTopic: string;
  }[];
  readonly globalTables: readonly { readonly name: string; readonly topic: string }[];
  toString(): string;
}

/** Changelog topic name: `rec.<processor>.<store>.changelog`. */
export function changelogTopicName(processor: string, store: string): string {
  return `rec.${processor}.${store}.changelog`;
}

/** How `renameTopics` names a topology's changelogs and topics. */
export interface TopicNaming {
  changelog(owner: string, store: string): string;
  /** Called for every source and sink topic; return it unchanged to keep it. */
  topic(name: string): string;
}

/** The nodes of each built topology, in declaration order (children order depends on it). */
const DECLARED = new WeakMap<Topology, readonly Node[]>();

/**
 * The same topology with its changelogs and topics renamed: the processors,
 * stores and edges are the very same objects, only names change. What a
 * state namespace runs (namespace.ts).
 */
export function renameTopics(topology: Topology, naming: TopicNaming): Topology {
  const nodes = DECLARED.get(topology);
  if (nodes === undefined) throw new TopologyError('only a topology built by TopologyBuilder can be renamed');
  const renamed = nodes.map((n): Node => {
    if (n.kind === 'source') return { ...n, topics: n.topics.map((t) => naming.topic(t)) };
    if (n.kind === 'sink') return { ...n, topic: naming.topic(n.topic) };
    return n;
  });
  const stores = topology.stores.map((s) => ({ ...s, changelogTopic: naming.changelog(s.owner, s.name) }));
  const globals = topology.globalTables.map((g) => ({ ...g, topic: naming.topic(g.topic) }));
  return createTopology(topology.applicationId, renamed, stores, globals);
}

/**
 * Declares a topology node by node (names checked as they are added);
 * `build()` checks every parent and store connection and freezes the graph.
 *
 * @example
 * ```ts
 * const topology = new TopologyBuilder('counts')
 *   .addSource('events', ['rec.interactions'], bytesDeserializer)
 *   .addProcessor('count', () => new CountPerKey(), ['events'])
 *   .addStore({ name: 'counts', codec: numberCodec }, ['count'])
 *   .build();
 * ```
 */
export class TopologyBuilder {
  private readonly nodes: Node[] = [];
  private readonly storeDecls: { decl: StoreDeclaration; processors: string[] }[] = [];
  private readonly globals: GlobalTableNode[] = [];

  constructor(private readonly applicationId: string) {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(applicationId)) {
      throw new TopologyError(
        `application id ${JSON.stringify(applicationId)} must be lower-case letters, digits, '.', '_' or '-'`,
      );
    }
  }

  addSource<V>(name: string, topics: readonly string[], deserializer: ValueDeserializer<V>): this {
    if (topics.length === 0) throw new TopologyError(`source ${name} reads no topic`);
    this.add({ kind: 'source', name, topics: [...topics], deserializer });
    return this;
  }

  addProcessor<In, Out>(name: string, supplier: () => Processor<In, Out>, parents: readonly string[]): this {
    this.add({
      kind: 'processor',
      name,
      parents: [...parents],
      supplier: supplier as () => Processor<unknown, unknown>,
      stores: [],
    });
    return this;
  }

  addSink<V>(name: string, topic: string, serializer: ValueSerializer<V>, parents: readonly string[]): this {
    this.add({
      kind: 'sink',
      name,
      topic,
      parents: [...parents],
      serializer: serializer as ValueSerializer<unknown>,
    });
    return this;
  }

  /** Declares a store and connects it to processors; the first one owns it (names its changelog). */
  addStore<V>(decl: StoreDeclaration & { codec: ValueCodec<V> }, processors: readonly string[]): this {
    if (processors.length === 0) throw new TopologyError(`store ${decl.name} is connected to no processor`);
    if (this.storeDecls.some((s) => s.decl.name === decl.name))
      throw new TopologyError(`store ${decl.name} is declared twice`);
    this.storeDecls.push({ decl: decl as StoreDeclaration, processors: [...processors] });
    return this;
  }

  /** Declares a global table: every partition of `topic`, folded by `reduce`, readable by every task. */
  addGlobalTable<V, S>(table: {
    name: string;
    topic: string;
    deserializer: ValueDeserializer<V>;
    reduce: GlobalTableReducer<V, S>;
  }): this {
    if (this.globals.some((g) => g.name === table.name))
      throw new TopologyError(`global table ${table.name} is declared twice`);
    this.globals.push(table as unknown as GlobalTableNode);
    return this;
  }

  build(): Topology {
    const byName = new Map(this.nodes.map((n) => [n.name, n]));
    for (const node of this.nodes) {
      if (node.kind === 'source') continue;
      if (node.parents.length === 0) throw new TopologyError(`${node.kind} ${node.name} has no parent`);
      for (const parent of node.parents) {
        const p = byName.get(parent);
        if (!p) throw new TopologyError(`${node.kind} ${node.name} names unknown parent ${parent}`);
        if (p.kind === 'sink')
          throw new TopologyError(`${node.kind} ${node.name} cannot read from sink ${parent}`);
      }
    }
    const stores: StoreNode[] = [];
    const processors = new Map<string, ProcessorNode>();
    for (const n of this.nodes) if (n.kind === 'processor') processors.set(n.name, n);
    const storesOf = new Map<string, string[]>();
    for (const { decl, processors: names } of this.storeDecls) {
      for (const name of names) {
        if (!processors.has(name))
          throw new TopologyError(`store ${decl.name} is connected to unknown processor ${name}`);
        storesOf.set(name, [...(storesOf.get(name) ?? []), decl.name]);
      }
      stores.push({ ...decl, owner: names[0]!, changelogTopic: changelogTopicName(names[0]!, decl.name) });
    }
    const nodes = this.nodes.map((n) =>
      n.kind === 'processor' ? { ...n, stores: storesOf.get(n.name) ?? [] } : n,
    );
    for (const g of this.globals) {
      if (stores.some((s) => s.name === g.name))
        throw new TopologyError(`global table ${g.name} has the name of a store`);
    }
    return createTopology(this.applicationId, nodes, stores, [...this.globals]);
  }

  private add(node: Node): void {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(node.name))
      throw new TopologyError(`node name ${JSON.stringify(node.name)} is not a plain identifier`);
    if (this.nodes.some((n) => n.name === node.name))
      throw new TopologyError(`node ${node.name} is declared twice`);
    this.nodes.push(node);
  }
}

function createTopology(
  applicationId: string,
  nodes: readonly Node[],
  stores: readonly StoreNode[],
  globalTables: readonly GlobalTableNode[],
): Topology {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const children = new Map<string, string[]>(nodes.map((n) => [n.name, []]));
  for (const n of nodes) if (n.kind !== 'source') for (const p of n.parents) children.get(p)!.push(n.name);
  const sources = nodes.filter((n): n is SourceNode => n.kind === 'source');
  const sinks = nodes.filter((n): n is SinkNode => n.kind === 'sink');
  const topology: Topology = {
    applicationId,
    sources,
    processors: nodes.filter((n): n is ProcessorNode => n.kind === 'processor'),
    sinks,
    stores,
    globalTables,
    children: (name) => children.get(name) ?? [],
    node(name) {
      const n = byName.get(name);
      if (!n) throw new TopologyError(`no node named ${name}`);
      return n;
    },
    sourceTopics: () => [...new Set(sources.flatMap((s) => s.topics))],
    sinkTopics: () => [...new Set(sinks.map((s) => s.topic))],
    describe: () => describeTopology(topology),
  };
  DECLARED.set(topology, nodes);
  return Object.freeze(topology);
}

/** The graph as data, depth first from each source. */
function describeTopology(t: Topology): TopologyDescription {
  const nodes: NodeDescription[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const n = t.node(name);
    const children = [...t.children(name)];
    if (n.kind === 'source') nodes.push({ kind: 'source', name, topics: [...n.topics], children });
    else if (n.kind === 'processor')
      nodes.push({ kind: 'processor', name, stores: [...n.stores], children, parents: [...n.parents] });
    else nodes.push({ kind: 'sink', name, topic: n.topic, parents: [...n.parents] });
    for (const c of children) visit(c);
  };
  for (const s of t.sources) visit(s.name);
  const description: TopologyDescription = {
    applicationId: t.applicationId,
    nodes,
    stores: t.stores.map((s) => ({ name: s.name, owner: s.owner, changelogTopic: s.changelogTopic })),
    globalTables: t.globalTables.map((g) => ({ name: g.name, topic: g.topic })),
    toString: () => printDescription(description),
  };
  return Object.freeze(description);
}

/** Kafka Streams-style text: one block per node with its edges, then stores with their changelogs. */
function printDescription(d: TopologyDescription): string {
  const lines = [`Topology: ${d.applicationId}`];
  const edges = (children: readonly string[]) =>
    children.length ? [`      --> ${children.join(', ')}`] : [];
  for (const n of d.nodes) {
    if (n.kind === 'source') {
      lines.push(`    Source: ${n.name} (topics: [${n.topics.join(', ')}])`, ...edges(n.children));
    } else if (n.kind === 'processor') {
      lines.push(
        `    Processor: ${n.name} (stores: [${n.stores.join(', ')}])`,
        ...edges(n.children),
        `      <-- ${n.parents.join(', ')}`,
      );
    } else {
      lines.push(`    Sink: ${n.name} (topic: ${n.topic})`, `      <-- ${n.parents.join(', ')}`);
    }
  }
  if (d.stores.length) {
    lines.push('  Stores:');
    for (const s of d.stores) lines.push(`    ${s.name} (owner: ${s.owner}, changelog: ${s.changelogTopic})`);
  }
  if (d.globalTables.length) {
    lines.push('  Global tables:');
    for (const g of d.globalTables) lines.push(`    ${g.name} (topic: ${g.topic}, all partitions)`);
  }
  return lines.join('\n');
}
