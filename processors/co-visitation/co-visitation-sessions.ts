/**
 * `co-visitation-sessions`: the user side of item-to-item co-visitation.
 * From `rec.interactions` (key user) it keeps each user's recent consumed
 * items (store `session-items`) and, for each new one, forwards the pairs
 * it makes to `rec.co-visits`, keyed by item: one record for the new item
 * (with every recent item in the window) and one for each recent item
 * (with the new item), so that each item's neighbours are counted in the
 * one task that owns the item, both ways.
 *
 * Consumption is what the user view counts as positive: a non-impression
 * interaction whose label is at least 0.5 (`eventLabels`, with the watch
 * fraction from the catalog as of the event), so a skip, a dislike, a low
 * rating or a short view pairs with nothing. An `event_id` taken within
 * the dedup horizon (store `event-ids`) pairs nothing again. Invalid
 * interactions fail `checkInteraction` and go to the dead-letter topic.
 *
 * Privacy: an interaction of a user whose profile opts out as of its
 * event time pairs with nothing (global table `opt-outs`, `opt-outs.ts`),
 * however the task's polls interleave `rec.users` with `rec.interactions`.
 * From `rec.users` (co-partitioned by user), an opt-out or a deleted user
 * also purges the user's recent items, and interactions read after it pair
 * with nothing until they opt back in. Pairs already counted stay in the
 * items' lists: they are item statistics, which name no user.
 *
 * @example
 * ```ts
 * builder.addProcessor('co-visitation-sessions', () => new CoVisitationSessions(options), ['interactions']);
 * ```
 */

import {
  checkInteraction,
  EVENT_IDS_STORE,
  eventLabels,
  watchFraction,
} from '../../features/math/interactions.js';
import type { Versioned } from '../../features/math/versioned.js';
import type { CatalogAttributes } from '../../features/views/attributes.js';
import { ProcessingError } from '../../runtime/errors.js';
import type {
  GlobalTableView,
  Processor,
  ProcessorContext,
  StreamRecord,
} from '../../runtime/processor/processor.js';
import { DedupWindow } from '../../runtime/state/dedup-window.js';
import type { KeyValueStore } from '../../runtime/state/store.js';
import type { CoVisit, Interaction, User } from '../../schemas/generated/types.js';
import { USERS_TOPIC } from '../../schemas/topics.js';
import { CATALOG_VERSIONS, catalogAsOf } from '../catalog/catalog-versions.js';
import {
  CO_VISIT_CLOCK_STORE,
  type CoVisitClock,
  CoVisitOutput,
  loadCoVisitClock,
} from './co-visit-output.js';
import { OPT_OUTS, optedOutAt } from './opt-outs.js';
import {
  emptySession,
  pairsFor,
  remember,
  SESSION_ITEMS_STORE,
  type SessionItems,
  type SessionWindow,
} from './session-items.js';

export interface CoVisitationSessionsOptions extends SessionWindow {
  /** RECSTREAM_DEDUP_HORIZON_MS. */
  readonly dedupHorizonMs: number;
  /** RECSTREAM_WATERMARK_INTERVAL_MS: stream time between bare watermarks to a partition. */
  readonly watermarkIntervalMs: number;
}

/** Whether the user consumed the item: the user view's positive (label >= 0.5, not an impression). */
export function consumed(event: Interaction, durationS: number | null | undefined): boolean {
  if (event.type === 'impression') return false;
  return eventLabels(event, watchFraction(event, durationS)).positive;
}

export class CoVisitationSessions implements Processor<Interaction | User | null, CoVisit> {
  private ctx!: ProcessorContext<CoVisit>;
  private sessions!: KeyValueStore<SessionItems>;
  private catalog!: GlobalTableView<Versioned<CatalogAttributes>>;
  private optOuts!: GlobalTableView<Versioned<boolean>>;
  private seen!: DedupWindow;
  private output!: CoVisitOutput;

  constructor(private readonly options: CoVisitationSessionsOptions) {}

  async init(ctx: ProcessorContext<CoVisit>): Promise<void> {
    this.ctx = ctx;
    this.sessions = ctx.store(SESSION_ITEMS_STORE);
    this.catalog = ctx.globalTable(CATALOG_VERSIONS);
    this.optOuts = ctx.globalTable(OPT_OUTS);
    this.seen = new DedupWindow(ctx.store(EVENT_IDS_STORE), { horizonMs: this.options.dedupHorizonMs });
    await this.seen.load();
    const clock = ctx.store<CoVisitClock>(CO_VISIT_CLOCK_STORE);
    this.output = new CoVisitOutput(
      ctx,
      await loadCoVisitClock(clock, ctx.partitionCount),
      clock,
      this.options.watermarkIntervalMs,
    );
  }

  async process(record: StreamRecord<Interaction | User | null>): Promise<void> {
    if (this.ctx.recordMetadata()?.topic === USERS_TOPIC)
      return this.profile(record.key, record.value as User | null);
    const event = record.value as Interaction | null;
    if (event === null) throw new ProcessingError('rec.interactions record has no value');
    checkInteraction(event, record.key);
    this.output.advance(event.ts);
    await this.pair(event);
    this.output.sendWatermarks();
  }

  private async pair(event: Interaction): Promise<void> {
    const attrs = catalogAsOf(this.catalog, event.item_id, event.ts);
    if (!consumed(event, attrs?.duration_s)) return;
    if (optedOutAt(this.optOuts, event.user_id, event.ts)) return;
    if (!(await this.seen.firstSeen(event.event_id, event.ts))) return;
    const session = (await this.sessions.get(event.user_id)) ?? emptySession();
    if (session.opt_out) return;
    const pairs = pairsFor(session, event.item_id, event.ts, this.options);
    remember(session, event.item_id, event.ts, this.options);
    this.sessions.put(event.user_id, session);
    if (pairs.length === 0) return;
    const { event_id, item_id, ts } = event;
    this.output.emit({ visit_id: `${event_id}/${item_id}`, item_id, ts, neighbours: pairs });
    for (const pair of pairs)
      this.output.emit({
        visit_id: `${event_id}/${pair.item_id}`,
        item_id: pair.item_id,
        ts,
        neighbours: [{ item_id, weight: pair.weight }],
      });
  }

  private async profile(key: string | null, user: User | null): Promise<void> {
    if (key === null) throw new ProcessingError('rec.users record has no key');
    if (user !== null && user.user_id !== key)
      throw new ProcessingError(`rec.users record key is not its user_id`);
    if (user?.opt_out) this.sessions.put(key, emptySession(true));
    else if (user === null || (await this.sessions.get(key))?.opt_out) this.sessions.delete(key);
  }
}
