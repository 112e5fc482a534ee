/**
 * What a responder serves without personalisation (cold-start users, opted-
 * out users, no model, online store down): the most popular available
 * items, overall and per country (the segment cold-start users get),
 * from the item-features view (`item` in the online store): one-day
 * half-life popularity decayed to now, and per request country. The lists
 * are rebuilt in the background, `refreshMs` after the previous rebuild
 * ended, never on a request; a background rebuild takes at most a fifth of
 * the request thread while it runs (`REFRESH_SHARE`).
 *
 * @example
 * ```ts
 * const popular = await PopularityLists.start({ online, catalog, logger });
 * popular.top('PT');       // item ids, most popular first; the global list for an unknown country
 * await popular.close();
 * ```
 */
import { type ItemView, itemFeaturesAt } from '../../features/views/item-view.js';
import { topK } from '../../lib/top-k.js';
import type { Logger } from '../../runtime/observability/logger.js';
import type { OnlineStore } from '../../runtime/online/online-store.js';
import type { Item } from '../../schemas/generated/types.js';
import { Pacer } from './pacer.js';

export interface PopularityOptions {
  readonly online: Pick<OnlineStore, 'getMany'>;
  /** The catalog as the responder follows it (a `LiveTable` of `rec.items`). */
  readonly catalog: { values(): Iterable<Item> };
  readonly logger: Logger;
  /**
   * Pause between the end of one rebuild and the start of the next; default
   * 60 s (`RECSTREAM_SERVE_POPULARITY_REFRESH_MS`). A rebuild decodes every
   * item's view, ~40 MB of objects that outlive young-generation GCs while
   * it is paced, so each one brings the next full GC nearer.
   */
  readonly refreshMs?: number;
  /** Items kept per list; default 500. */
  readonly depth?: number;
}

/**
 * Item views read (and decoded) per turn of the event loop. A refresh reads
 * every available item's view; at 2,000 a turn each turn held requests for
 * 20–35 ms, and a refresh of 94,000 items put a 100–200 ms p99 on every
 * tenth second of an open loop at 370 req/s. At 256 a request waits for
 * one turn of ~3 ms.
 */
const READ_CHUNK = 256;

/**
 * Share of the request thread's time a background rebuild may take: after
 * each chunk it waits four times as long as the chunk took (at most
 * `MAX_PAUSE_MS`). Unpaced, a rebuild of 94,000 item views took the
 * request thread for ~0.5 s every ten seconds, and an open loop at half
 * the responder's capacity queued behind it: p99 ~240 ms, against
 * 40–60 ms with no rebuilds. A chunk that took longer because requests ran
 * meanwhile earns a longer pause, so a busier responder rebuilds slower.
 */
const REFRESH_SHARE = 0.2;
const MAX_PAUSE_MS = 50;

export class PopularityLists {
  private global: readonly string[] = [];
  private byCountry = new Map<string, readonly string[]>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> = Promise.resolve();
  private readonly stopping = new AbortController();

  private constructor(private readonly options: PopularityOptions) {}

  /** Builds the lists once, at full speed, then keeps rebuilding them in the background, paced. */
  static async start(options: PopularityOptions): Promise<PopularityLists> {
    const lists = new PopularityLists(options);
    await lists.refresh();
    lists.scheduleNext();
    return lists;
  }

  /** Most popular first: the country's list when it has one, else the global list. */
  top(country: string | null | undefined): readonly string[] {
    return (country == null ? undefined : this.byCountry.get(country)) ?? this.global;
  }

  /**
   * Rebuilds the lists from the item views of every available catalog
   * item; `paced`, it pauses after each chunk (`REFRESH_SHARE`). The lists
   * served change only once the whole rebuild is done.
   */
  async refresh(now = Date.now(), paced = false): Promise<void> {
    const { online, catalog } = this.options;
    const depth = this.options.depth ?? 500;
    const items = [...catalog.values()].filter((item) => item.available).map((item) => item.item_id);
    const scored: { item: string; score: number; total: number }[] = [];
    const countries = new Map<string, { item: string; score: number }[]>();
    const pacer = new Pacer({ share: REFRESH_SHARE, maxPauseMs: MAX_PAUSE_MS, signal: this.stopping.signal });
    for (let from = 0; from < items.length; from += READ_CHUNK) {
      const chunk = items.slice(from, from + READ_CHUNK);
      const views = await online.getMany<ItemView>('item', chunk);
      chunk.forEach((item, i) => {
        const view = views[i];
        if (view === undefined) return;
        const features = itemFeaturesAt(view, now, undefined);
        scored.push({ item, score: features.popularity.hl_1d, total: features.popularity.total });
        for (const [country, score] of Object.entries(features.popularity_by_country)) {
          const list = countries.get(country) ?? [];
          list.push({ item, score });
          countries.set(country, list);
        }
      });
      if (paced) await pacer.pause();
      if (this.stopping.signal.aborted) return;
    }
    const order = (a: { item: string; score: number }, b: { item: string; score: number }) =>
      b.score - a.score || (a.item < b.item ? -1 : 1);
    this.global = topK(
      scored,
      depth,
      (a, b) => b.score - a.score || b.total - a.total || (a.item < b.item ? -1 : 1),
    ).map((s) => s.item);
    const byCountry = new Map<string, readonly string[]>();
    for (const [country, list] of countries) {
      const top = topK(list, depth, order).map((s) => s.item);
      // A small segment is topped up from the global list so it still fills a page.
      const seen = new Set(top);
      for (const item of this.global) if (top.length < depth && !seen.has(item)) top.push(item);
      byCountry.set(country, top);
    }
    this.byCountry = byCountry;
  }

  async close(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    await this.refreshing;
  }

  private scheduleNext(): void {
    if (this.stopping.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.refreshing = this.refresh(Date.now(), true)
        .catch((error) =>
          this.options.logger.warn(
            { err: error },
            'popularity lists not refreshed; serving the previous ones',
          ),
        )
        .finally(() => this.scheduleNext());
    }, this.options.refreshMs ?? 60_000);
    this.timer.unref();
  }
}
