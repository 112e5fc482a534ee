/**
 * The platform on Kafka as a user runs it, for end-to-end tests: the
 * project's registry server (`recstream registry serve`) and a go-mokapi
 * Kafka-protocol server on loopback declaring the topics `recstream topics
 * --plan` lists, and the environment every `recstream` child process gets to
 * use them.
 *
 * @example
 * ```ts
 * const platform = await startKafkaPlatform(dir);
 * if (typeof platform === 'string') return missingService(t, platform); // test/skips.ts
 * await runCliOk(['simulate', ...WORLD, '--data-dir', data], platform.env);
 * await platform.stop();
 * ```
 */
import { join } from 'node:path';
import { runCliOk, stateDigests } from './cli.js';
import { MOKAPI_MAX_REQUEST_BYTES, startKafkaServer } from './kafka-server.js';
import { type RegistryServe, startRegistryServe } from './registry-serve.js';

/** RECSTREAM_PARTITIONS of the tests' platform. */
export const PIPELINE_PARTITIONS = 4;

/** Events of the tests' simulation: a few thousand, so a run takes seconds. */
export const PIPELINE_EVENTS = 3000;
/** `recstream simulate` options of the tests' world. */
export const PIPELINE_WORLD = ['--seed', '12', '--users', '150', '--items', '60', '--days', '2'];
/** The applications whose stores the tests compare. */
export const PIPELINE_APPS = ['features', 'interaction-counts'];

/**
 * Settings of every run, on both back-ends. Lateness covers the whole
 * simulated span: a task processes records in the order its consumer hands
 * them over, and on Kafka that order across topics depends on when fetches
 * return; with the default 5 minutes, a user update handed over early can
 * push stream time past an interaction that then counts as late on one
 * back-end and not on the other.
 */
export const PIPELINE_SETTINGS: Readonly<Record<string, string>> = {
  RECSTREAM_PARTITIONS: String(PIPELINE_PARTITIONS),
  RECSTREAM_FEATURE_LATENESS_MS: String(3 * 24 * 3600 * 1000),
};

/**
 * `topics --plan`, then `simulate` of the tests' world on `data`, with `env`
 * choosing the back-ends. The plan comes first, as on a cluster: it
 * registers the schemas the applications write, so every registry hands out
 * the same ids and stores holding Confluent-framed values (the label join's
 * examples) compare byte for byte.
 */
export async function planAndSimulate(data: string, env: Record<string, string>): Promise<void> {
  await runCliOk(['topics', '--plan', '--data-dir', data], env);
  await runCliOk(
    ['simulate', ...PIPELINE_WORLD, '--events', String(PIPELINE_EVENTS), '--data-dir', data],
    env,
  );
}

/** The tests' pipeline on one process: plan, simulate, `process --once`, then the applications' store digests. */
export async function singleInstanceDigests(
  data: string,
  env: Record<string, string>,
): Promise<Record<string, string>> {
  await planAndSimulate(data, env);
  await runCliOk(['process', '--once', '--app', PIPELINE_APPS.join(','), '--data-dir', data], env);
  return stateDigests(data, PIPELINE_APPS, env);
}

export interface KafkaPlatform {
  /** The variables that point `recstream` at Kafka and the registry server. */
  readonly env: Readonly<Record<string, string>>;
  readonly brokers: readonly string[];
  readonly registryUrl: string;
  /** The topics `topics --plan` listed, as go-mokapi serves them. */
  readonly topics: readonly { readonly name: string; readonly partitions: number }[];
  /** The last lines go-mokapi printed (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

/** Starts both servers, or returns why go-mokapi cannot run on this machine. */
export async function startKafkaPlatform(dir: string): Promise<KafkaPlatform | string> {
  const registry: RegistryServe = await startRegistryServe(join(dir, 'registry-server'));
  try {
    const planEnv = {
      RECSTREAM_SCHEMA_REGISTRY_URL: registry.url,
      RECSTREAM_PARTITIONS: String(PIPELINE_PARTITIONS),
    };
    const plan: { topic: string; partitions: number }[] = JSON.parse(
      (await runCliOk(['topics', '--plan', '--json', '--data-dir', join(dir, 'plan')], planEnv)).stdout,
    );
    const topics = plan.map((t) => ({ name: t.topic, partitions: t.partitions }));
    const kafka = await startKafkaServer({ topics });
    if (typeof kafka === 'string') {
      await registry.stop();
      return kafka;
    }
    return {
      env: {
        ...planEnv,
        RECSTREAM_KAFKA_BROKERS: kafka.brokers.join(','),
        // go-mokapi refuses a producer's second multi-record batch when idempotence is on (runtime/log/kafka/README.md).
        RECSTREAM_KAFKA_IDEMPOTENT: 'false',
        RECSTREAM_KAFKA_MAX_REQUEST_BYTES: String(MOKAPI_MAX_REQUEST_BYTES),
      },
      brokers: kafka.brokers,
      registryUrl: registry.url,
      topics,
      logs: () => kafka.logs(),
      stop: async () => {
        await kafka.stop();
        await registry.stop();
      },
    };
  } catch (error) {
    await registry.stop().catch(() => undefined);
    throw error;
  }
}
