/**
 * What a responder serves without personalisation (cold-start users, opted-
 * out users, no model, online store down): the most popular available
 * items, overall and per country (the segment cold-start users get),
 * from the item-features view (`item` in the online store): one-day
 * half-life popularity decayed to now, and per request country. The lists
 * are rebuilt in the background every `refreshMs`, never on a request.
 *
 * @example
 * ```ts
 * const popular = await PopularityLists.start({ online, catalog, logger });
 * popular.top('PT');       // item ids, most popular first; the global list for an unknown country
 * await popular.close();
 * ```
 */
import { type ItemView, itemFeaturesAt } from '../../processors/item-features/item-view.js';
import type { Logger } from '../../runtime/observability/logger.js';
import type { OnlineStore } from '../../runtime/online/online-store.js';
import type { Item } from '../../schemas/generated/types.js';
import type { LiveTable } from './live-table.js';
import { topK } from './top-k.js';

export interface PopularityOptions {
  readonly online: OnlineStore;
  readonly catalog: LiveTable<Item>;
  readonly logger: Logger;
  /** Default 10 s. */
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

export class PopularityLists {
  private global: readonly string[] = [];
  private byCountry = new Map<string, readonly string[]>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> = Promise.resolve();

  private constructor(private readonly options: PopularityOptions) {}

  /** Builds the lists once, then keeps rebuilding them in the background. */
  static async start(options: PopularityOptions): Promise<PopularityLists> {
    const lists = new PopularityLists(options);
    await lists.refresh();
    lists.timer = setInterval(() => {
      lists.refreshing = lists
        .refresh()
        .catch((error) =>
          options.logger.warn({ err: error }, 'popularity lists not refreshed; serving the previous ones'),
        );
    }, options.refreshMs ?? 10_000);
    lists.timer.unref();
    return lists;
  }

  /** Most popular first: the country's list when it has one, else the global list. */
  top(country: string | null | undefined): readonly string[] {
    return (country == null ? undefined : this.byCountry.get(country)) ?? this.global;
  }

  /** Rebuilds the lists from the item views of every available catalog item. */
  async refresh(now = Date.now()): Promise<void> {
    const { online, catalog } = this.options;
    const depth = this.options.depth ?? 500;
    const items = [...catalog.values()].filter((item) => item.available).map((item) => item.item_id);
    const scored: { item: string; score: number; total: number }[] = [];
    const countries = new Map<string, { item: string; score: number }[]>();
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
    clearInterval(this.timer);
    await this.refreshing;
  }
}
