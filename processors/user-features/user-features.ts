/**
 * `user-features` (input `rec.interactions`, keyed by user): maintains the
 * per-user view (`features/views/user-view.ts`) and forwards every
 * interaction, enriched with its user's features *as they were before it*,
 * to `rec.interactions.enriched`, keyed by item.
 *
 * Event time, not arrival order, decides what "before" means. The task's
 * watermark is the latest interaction time it has seen minus the allowed
 * lateness; an interaction waits in memory until the watermark
 * passes it, then interactions are released in (event time, event id)
 * order: all interactions of one millisecond first get their features from
 * the view, then are folded into it. Out-of-order arrivals within the
 * lateness therefore give exactly the views and features of in-order
 * arrivals, and a replay gives the same bytes. An interaction older than
 * the watermark on arrival (late) is folded at once, out of order, and
 * forwarded flagged `late`, without features: it can yield no exact
 * training example.
 *
 * A repeated interaction (same event id) or served list (same request id)
 * is dropped while its first copy is remembered: store `event-ids`
 * (`runtime/state/dedup-window.ts`) keeps every id for at least
 * `dedupHorizonMs` of the task's stream time after it arrived, however old
 * its event time. A copy within the horizon (a re-driven dead letter, a
 * re-imported file) therefore folds nothing twice, and reaches
 * item-features only once.
 *
 * Waiting interactions are not written to a store: the task holds its
 * input at the oldest of them (`ProcessorContext.holdInput`), so a restart
 * delivers them again. `user-clock` keeps the next input offset not yet
 * processed; a re-delivered interaction older than the watermark was
 * handled, a newer one was waiting and goes back in line (without
 * features if its user was purged meanwhile: the view that listed it
 * among its waiting interactions is gone), unless it was a duplicate
 * dropped on arrival (`event-ids` holds another event time for its id).
 *
 * Served lists (`rec.recommendations`, keyed by user like the
 * interactions) become exposures (`features/math/served-exposures.ts`):
 * one impression per served item at `served_ts`. They wait for the
 * watermark (`served-waiting.ts`), get the user's features as of
 * `served_ts`, fold into no view and do not move the watermark. A list behind the watermark on arrival is counted in
 * `user-clock` (`late_served_lists`) and exposes nothing; so does a
 * shadow variant's list (`shadow`), which was never shown, and, with
 * `attributeAnonymous` false (RECSTREAM_ATTRIBUTE_ANONYMOUS), a list asked
 * for without credentials (`caller` null), so that anonymous requests add
 * no negative labels to training.
 *
 * A bounded input (`Processor.endOfInput`: a finite import run to its
 * end) releases every waiting interaction and served list as if the
 * lateness had passed after the last one, and promises every partition
 * that nothing earlier follows, so the import's tail becomes training
 * examples; an interaction that still arrives later within the lateness
 * of that last one is late. A live run never ends its input.
 *
 * Opted-out users (now, or as of the interaction's time) get no view and
 * no features; their interactions are still forwarded, with `user` null, so
 * item aggregates (popularity, CTR) stay complete and deterministic.
 *
 * The enriched stream of each task is in event-time order, and every record
 * carries a promise (`frontier`): no on-time interaction earlier than it
 * follows (a released interaction promises its own time, since the rest of
 * its pass is no earlier; a late one and a bare watermark the watermark).
 * Records also carry a per-task sequence number. A partition that has had
 * no promise from the task for `watermarkIntervalMs` of watermark progress
 * gets a bare watermark, so `item-features` can merge the tasks' streams in
 * event-time order even where a task has nothing to send it
 * (`enriched-output.ts`; the watermark state is `user-clock.ts`'s).
 *
 * @example
 * ```ts
 * builder.addProcessor('user-features', () => new UserFeaturesProcessor(options), ['interactions', 'profiles']);
 * ```
 */
import {
  checkInteraction,
  EVENT_IDS_STORE,
  TYPE_INDEX,
  watchFraction,
} from '../../features/math/interactions.js';
import { checkServedList, exposuresOf, servedListId } from '../../features/math/served-exposures.js';
import { TimeQueue } from '../../features/math/time-queue.js';
import type { Versioned } from '../../features/math/versioned.js';
import type { CatalogAttributes } from '../../features/views/attributes.js';
import {
  emptyUserView,
  featuresAt,
  foldInteraction,
  USER_VIEW_STORE,
  type UserView,
} from '../../features/views/user-view.js';
import { ProcessingError } from '../../runtime/errors.js';
import type {
  GlobalTableView,
  Processor,
  ProcessorContext,
  StreamRecord,
} from '../../runtime/processor/processor.js';
import { type DedupValue, DedupWindow } from '../../runtime/state/dedup-window.js';
import type { KeyValueStore } from '../../runtime/state/store.js';
import type {
  EnrichedInteraction,
  Interaction,
  ServedRecommendations,
  UserFeatures,
} from '../../schemas/generated/types.js';
import { CATALOG_VERSIONS, catalogAsOf } from '../catalog/catalog-versions.js';
import {
  isOptedOut,
  type ProfileHistory,
  profileAsOf,
  USERS_STORE,
  type UserPurge,
} from '../profiles/profiles.js';
import { Arrivals } from './arrivals.js';
import { EnrichedOutput } from './enriched-output.js';
import { type ListEntry, SERVED_WAITING_STORE, ServedWaiting } from './served-waiting.js';
import { loadUserClock, USER_CLOCK_KEY, USER_CLOCK_STORE, type UserClock } from './user-clock.js';

export { USER_CLOCK_STORE, type UserClock, userClockCodec } from './user-clock.js';

export interface UserFeaturesOptions {
  /** How far behind the latest seen event time an interaction may arrive and still be placed exactly. */
  readonly latenessMs: number;
  /** Watermark progress between two bare watermarks to every partition. */
  readonly watermarkIntervalMs: number;
  /** Event time over which a repeated event id is recognised (RECSTREAM_DEDUP_HORIZON_MS). */
  readonly dedupHorizonMs: number;
  /** False: anonymous served lists (caller null) expose nothing (RECSTREAM_ATTRIBUTE_ANONYMOUS). Default true. */
  readonly attributeAnonymous?: boolean;
}

/** A waiting interaction; `excluded` once its user was purged while it waited. */
interface PendingEntry {
  excluded: boolean;
  released: boolean;
  readonly event: Interaction;
  /** Where it is on the input partition. */
  readonly offset: number;
}

type Input = Interaction | UserPurge | ServedRecommendations | null;

export class UserFeaturesProcessor implements Processor<Input, EnrichedInteraction> {
  private ctx!: ProcessorContext<EnrichedInteraction>;
  private views!: KeyValueStore<UserView>;
  private clockStore!: KeyValueStore<UserClock>;
  private profiles!: KeyValueStore<ProfileHistory>;
  private catalog!: GlobalTableView<Versioned<CatalogAttributes>>;
  private seen!: DedupWindow;
  /** Served lists by request id, beside the interactions' ids with their own stream time (served_ts). */
  private seenLists!: DedupWindow;
  private clock!: UserClock;
  private output!: EnrichedOutput;
  private readonly queue = new TimeQueue<PendingEntry | ListEntry>();
  private readonly pendingIds = new Set<string>();
  /** Waiting interactions in input order: the first one not released is where the input is held. */
  private readonly arrivals = new Arrivals<PendingEntry>();
  private servedWaiting!: ServedWaiting;
  private readonly scratch = new Float64Array(3);
  /** The topic interactions are held on (`ProcessorContext.holdInput`). */
  private interactionsTopic: string | undefined;

  constructor(private readonly options: UserFeaturesOptions) {}

  async init(ctx: ProcessorContext<EnrichedInteraction>): Promise<void> {
    this.ctx = ctx;
    this.views = ctx.store(USER_VIEW_STORE);
    this.clockStore = ctx.store(USER_CLOCK_STORE);
    this.profiles = ctx.store(USERS_STORE);
    this.catalog = ctx.globalTable(CATALOG_VERSIONS);
    const eventIds = ctx.store<DedupValue>(EVENT_IDS_STORE);
    this.seen = new DedupWindow(eventIds, { horizonMs: this.options.dedupHorizonMs });
    this.seenLists = new DedupWindow(eventIds, {
      horizonMs: this.options.dedupHorizonMs,
      keyPrefix: 'lists/',
    });
    await this.seen.load();
    await this.seenLists.load();
    this.clock = await loadUserClock(this.clockStore, ctx.partitionCount);
    this.output = new EnrichedOutput(ctx, this.clock, this.options.watermarkIntervalMs);
    this.servedWaiting = new ServedWaiting(ctx.store(SERVED_WAITING_STORE));
    for (const entry of await this.servedWaiting.load()) this.queueList(entry);
  }

  async process(record: StreamRecord<Input>): Promise<void> {
    const value = record.value;
    if (value === null)
      throw new ProcessingError(
        `${this.ctx.recordMetadata()?.topic} record has no value: an event stream has no tombstones`,
      );
    if ('kind' in value) {
      await this.purge(value.user_id, record.timestamp);
      return;
    }
    if ('items' in value) {
      checkServedList(value, record.key);
      await this.servedList(value);
      return;
    }
    checkInteraction(value, record.key);
    const { topic, offset } = this.ctx.recordMetadata()!;
    this.interactionsTopic = topic;
    if (offset < this.clock.consumed) await this.redelivered(value, offset);
    else await this.arrived(value, offset);
    this.clockStore.put(USER_CLOCK_KEY, this.clock);
    this.ctx.holdInput(topic, this.arrivals.oldest());
  }

  /** The input ended: see the module comment. Nothing to do when nothing waits. */
  async endOfInput(): Promise<void> {
    if (this.queue.size === 0) return;
    // The watermark moves to just past the latest interaction: everything seen is released.
    this.clock.max_ts += this.options.latenessMs + 1;
    const frontier = this.frontier();
    await this.release(frontier);
    this.output.promiseEveryPartition(frontier);
    this.clockStore.put(USER_CLOCK_KEY, this.clock);
    if (this.interactionsTopic !== undefined)
      this.ctx.holdInput(this.interactionsTopic, this.arrivals.oldest());
  }

  /** Keeps a served list until the watermark passes it, its exposures in line with the interactions. */
  private async servedList(list: ServedRecommendations): Promise<void> {
    // A shadow variant's list was never shown: it exposed nothing.
    if (list.shadow) return;
    if (list.caller === null && this.options.attributeAnonymous === false) return;
    if (list.served_ts < this.frontier()) {
      this.clock.late_served_lists = (this.clock.late_served_lists ?? 0) + 1;
      this.clockStore.put(USER_CLOCK_KEY, this.clock);
      return;
    }
    const id = servedListId(list.request_id);
    if (
      list.items.length === 0 ||
      !(await this.seenLists.firstSeen(id, list.served_ts)) ||
      this.pendingIds.has(id)
    )
      return;
    this.queueList(this.servedWaiting.put(list));
  }

  private queueList(entry: ListEntry): void {
    this.queue.insert(entry.ts, entry.id, entry);
    this.pendingIds.add(entry.id);
  }

  /** Sends a released list's exposures with the user's features (none for a purged or opted-out user). */
  private async releaseList(entry: ListEntry, features: UserFeatures | null, ts: number): Promise<void> {
    this.pendingIds.delete(entry.id);
    const list = await this.servedWaiting.take(entry);
    if (list === undefined || features === null) return;
    for (const { event, served } of exposuresOf(list)) this.output.emit(event, features, ts, false, served);
  }

  private async arrived(value: Interaction, offset: number): Promise<void> {
    this.clock.consumed = offset + 1;
    // Still waiting yet forgotten only where the horizon is shorter than the lateness.
    if (!(await this.seen.firstSeen(value.event_id, value.ts)) || this.pendingIds.has(value.event_id)) return;
    const frontier = this.frontier();
    if (value.ts < frontier) {
      await this.foldLate(value, frontier);
      return;
    }
    this.wait({ excluded: false, released: false, event: value, offset });
    const history = await this.profiles.get(value.user_id);
    if (!isOptedOut(history, value.ts)) await this.addPending(value);
    if (value.ts > this.clock.max_ts) {
      this.clock.max_ts = value.ts;
      await this.release(this.frontier());
    }
  }

  /**
   * An interaction processed before a restart: older than the watermark it
   * was released or folded; newer, it was waiting, and its user's view
   * still lists it unless the user was purged since. A copy of another
   * event time than the one taken was a duplicate, dropped on arrival.
   */
  private async redelivered(value: Interaction, offset: number): Promise<void> {
    if (value.ts < this.frontier() || this.pendingIds.has(value.event_id)) return;
    const taken = await this.seen.takenAt(value.event_id);
    if (taken !== undefined && taken !== value.ts) return;
    const view = await this.views.get(value.user_id);
    const listed = view?.pending.some((p) => p.event_id === value.event_id) ?? false;
    this.wait({ excluded: !listed, released: false, event: value, offset });
  }

  private wait(entry: PendingEntry): void {
    this.queue.insert(entry.event.ts, entry.event.event_id, entry);
    this.pendingIds.add(entry.event.event_id);
    this.arrivals.push(entry);
  }

  /** The watermark: interactions before it are released; -Infinity before the first interaction. */
  private frontier(): number {
    return this.clock.max_ts < 0 ? Number.NEGATIVE_INFINITY : this.clock.max_ts - this.options.latenessMs;
  }

  private async addPending(event: Interaction): Promise<void> {
    const view = (await this.views.get(event.user_id)) ?? emptyUserView();
    view.pending.push({
      event_id: event.event_id,
      item_id: event.item_id,
      type: TYPE_INDEX.get(event.type)!,
      ts: event.ts,
      value: event.value,
      watch_ms: event.watch_ms,
    });
    this.views.put(event.user_id, view);
  }

  private async foldLate(event: Interaction, frontier: number): Promise<void> {
    const history = await this.profiles.get(event.user_id);
    if (!isOptedOut(history, event.ts)) {
      const view = (await this.views.get(event.user_id)) ?? emptyUserView();
      this.fold(view, event);
      this.views.put(event.user_id, view);
    }
    this.output.emit(event, null, frontier, true, null);
  }

  /** Releases every pending interaction before `frontier`, one event-time millisecond at a time. */
  private async release(frontier: number): Promise<void> {
    const group: { entry: PendingEntry; excluded: boolean }[] = [];
    while (this.queue.peekTs() < frontier) {
      const ts = this.queue.peekTs();
      group.length = 0;
      while (this.queue.peekTs() === ts) {
        const entry = this.queue.shift()!.value;
        const userId = 'key' in entry ? entry.userId : entry.event.user_id;
        const history = await this.profiles.get(userId);
        const excluded = entry.excluded || isOptedOut(history, ts);
        let features: UserFeatures | null = null;
        if (!excluded) {
          const view = await this.views.get(userId);
          features = featuresAt(view, ts, profileAsOf(history, ts), this.scratch);
        }
        // Its own time is what this record promises: the rest of the pass is no earlier.
        if ('key' in entry) await this.releaseList(entry, features, ts);
        else {
          group.push({ entry, excluded });
          this.output.emit(entry.event, features, ts, false, null);
        }
      }
      // Folded only after the whole millisecond has its features: same-time events do not see each other.
      for (const { entry, excluded } of group) {
        const event = entry.event;
        entry.released = true;
        this.pendingIds.delete(event.event_id);
        if (excluded) continue;
        const view = (await this.views.get(event.user_id)) ?? emptyUserView();
        const at = view.pending.findIndex((p) => p.event_id === event.event_id);
        if (at >= 0) view.pending.splice(at, 1);
        this.fold(view, event);
        this.views.put(event.user_id, view);
      }
    }
    this.output.sendWatermarks(frontier);
  }

  private fold(view: UserView, event: Interaction): void {
    const attrs = catalogAsOf(this.catalog, event.item_id, event.ts);
    foldInteraction(
      view,
      event,
      watchFraction(event, attrs?.duration_s),
      attrs?.categories ?? [],
      this.scratch,
    );
  }

  /**
   * Forgets a user: their view goes, their waiting interactions will be
   * released without features, and every item-features task is told to drop
   * what it holds of them (waiting impressions, features of waiting records).
   */
  private async purge(userId: string, timestamp: number): Promise<void> {
    this.views.delete(userId);
    for (const { value: entry } of this.queue.values()) {
      if (('key' in entry ? entry.userId : entry.event.user_id) !== userId) continue;
      entry.excluded = true;
      if ('key' in entry) this.servedWaiting.drop(entry);
    }
    this.output.sendPurge(userId, timestamp);
  }
}
