/**
 * The user's features as they were when each served list was made, from
 * `rec.training-examples`: the features application turns every served
 * list into exposures at its `served_ts` and gives each the user's
 * features just before that time (`features/math/served-exposures.ts`), so
 * an example linked to the list by `context.request_id` with `ts` equal to
 * `served_ts` carries them — the view a request would have read, without
 * the clicks that followed it. When the client's own impression of the
 * list came first in event time, the exposure merged into it and the
 * example carries the impression's time; only an example at `served_ts`
 * is taken, so such a list has none here, nor has a list that reached the
 * features application behind its watermark, one of an opted-out user, or
 * one whose examples wait for their label window still.
 *
 * @example
 * ```ts
 * const asOf = await featuresAtRequests(log, serde, lists);
 * asOf.get(requestId)?.recent_items; // what the user had done before the request
 * ```
 */
import { readTopic } from '../../registry/topic-reader.js';
import type { EventLog } from '../../runtime/log/log.js';
import type { Serde } from '../../runtime/serde/serde.js';
import type { TrainingExample, UserFeatures } from '../../schemas/generated/types.js';
import { TRAINING_EXAMPLES_TOPIC } from '../../schemas/topics.js';

/** What identifies a served list's request. */
export interface RequestKey {
  readonly user_id: string;
  readonly served_ts: number;
}

/**
 * The features of each request id of `requests` an example holds; a
 * request with none is absent. Of repeated examples (a replay of
 * `features` appends a new generation) the newest is kept.
 */
export async function featuresAtRequests(
  log: EventLog,
  serde: Serde,
  requests: ReadonlyMap<string, RequestKey>,
): Promise<Map<string, UserFeatures>> {
  const out = new Map<string, UserFeatures>();
  const decoder = await serde.decoder('rec.training-examples-value');
  for await (const record of readTopic(log, TRAINING_EXAMPLES_TOPIC)) {
    if (record.value === null) continue;
    const example: TrainingExample = await decoder.decode(record.value);
    const requestId = example.context.request_id;
    if (requestId === null) continue;
    const request = requests.get(requestId);
    if (request === undefined || request.user_id !== example.user_id || request.served_ts !== example.ts)
      continue;
    out.set(requestId, example.user);
  }
  return out;
}
