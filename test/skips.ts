/**
 * The one rule for tests whose subject is outside the process — Redis, the
 * Kafka-protocol server (go-mokapi), the Python engine, kubectl, a machine
 * feature such as /dev/full: where it is missing, a developer's run skips
 * the test with the reason, and a CI run (`CI=true`) fails it, so CI never
 * passes without what it tests.
 *
 * The only skips CI accepts are the declared limits of go-mokapi (what the
 * mock does not implement; runtime/log/kafka/README.md lists them), each
 * with its fixed reason below. scripts/run-tests.mjs counts and prints every
 * skip of a run and, under `CI=true`, fails the run on any other.
 *
 * @example
 * ```ts
 * test('needs Redis', async (t) => {
 *   const redis = await testRedis(t); // calls missingService when none answers
 *   if (redis === undefined) return;
 * });
 * test('kustomize', (t) => {
 *   if (!hasKubectl) return missingService(t, 'kubectl is not installed: apt-get install kubernetes-client');
 * });
 * describe('ONNX', { skip: skipWhenMissing(python.found ? undefined : python.reason) }, () => {});
 * ```
 */
import type { TestContext } from 'node:test';

/** Whether this is a CI run, where a missing service fails instead of skipping. */
export function underCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true';
}

/** Thrown under `CI=true` where a test's service is missing. */
export class MissingServiceError extends Error {
  readonly code = 'MISSING_SERVICE';
  readonly retriable = false;
  constructor(reason: string) {
    super(`${reason} (CI=true: a test whose service is missing fails instead of skipping)`);
    this.name = 'MissingServiceError';
  }
}

/**
 * A service the test needs is missing (`reason` says which and how to get
 * it): under `CI=true` this throws `MissingServiceError`, failing the test;
 * elsewhere it marks the test skipped, and the caller returns (or goes on
 * with the part that needs no service).
 */
export function missingService(t: TestContext, reason: string): void {
  if (underCi()) throw new MissingServiceError(reason);
  t.skip(reason);
}

/**
 * For a `test`/`describe` `skip` option: false when the service is there
 * (`reason` undefined), else the reason to skip with — or, under `CI=true`,
 * a thrown `MissingServiceError`, which fails the file.
 */
export function skipWhenMissing(reason: string | undefined): string | false {
  if (reason === undefined) return false;
  if (underCi()) throw new MissingServiceError(reason);
  return reason;
}

/** The features go-mokapi lacks, as runtime/log/kafka/README.md declares them, each with its reason. */
export const GO_MOKAPI_LIMITS = {
  compaction: 'go-mokapi never compacts (it does not read cleanup.policy)',
  timestampLookup:
    'go-mokapi answers ListOffsets only for earliest/latest; a timestamp gets UNKNOWN_SERVER_ERROR',
  emptyValues: 'go-mokapi returns a zero-length value as null',
  deleteTopics:
    'go-mokapi has no DeleteTopics API (key 20): kafkajs fails with KafkaJSServerDoesNotSupportApiKey',
} as const;

export type GoMokapiLimit = keyof typeof GO_MOKAPI_LIMITS;

const DECLARED = 'declared limit of the Kafka-protocol server (runtime/log/kafka/README.md)';

/** The skip reason of a declared limit, for a back-end's `capabilities.unsupported` (runtime/log/log.contract.ts). */
export function declaredLimitReason(feature: GoMokapiLimit): string {
  return `${DECLARED}: ${feature}: ${GO_MOKAPI_LIMITS[feature]}`;
}

/**
 * Whether a skip's reason is one of the declared limits (as is, or at the
 * end of a suite's own wording), the only skips a CI run accepts.
 */
export function isDeclaredSkip(reason: string): boolean {
  return (Object.keys(GO_MOKAPI_LIMITS) as GoMokapiLimit[]).some((f) => {
    const declared = declaredLimitReason(f);
    return reason === declared || reason.endsWith(`: ${declared}`);
  });
}
