/**
 * Read-only views for the operator console's "recommend for user" panel:
 *
 * - `GET /v1/users/:userId/history?limit=20` → the user's recent items as
 *   the recommender sees them (the online store's `user` view, with the
 *   interactions still waiting for the watermark folded in: the same
 *   `recent_items` the personalised path leaves out as already seen), most
 *   recent first, each with its catalog title and categories; plus the
 *   profile's country and age bucket, the event count and the top category
 *   affinities. An unknown user is no error: `known: false`, no items.
 * - `GET /v1/items?ids=i1,i2` → title, categories, maturity and
 *   availability of each id (at most 200), from the responder's catalog;
 *   `null` for an id the catalog does not hold.
 *
 * Errors, JSON `{ error, code }`: 400 `INVALID_USER_ID` / `INVALID_QUERY`;
 * 503 `NOT_READY` while the responder starts; 503
 * `ONLINE_STORE_UNAVAILABLE` when the user view cannot be read; from
 * `guardHistory`, 401 / 403 for a caller without the `users:read` scope.
 *
 * @example
 * ```ts
 * await app.register(catalogRoutes, { service: () => service, online });
 * // curl 'http://127.0.0.1:8080/v1/users/u0/history?limit=10'
 * ```
 */
import type { FastifyPluginAsync, onRequestAsyncHookHandler } from 'fastify';
import { servingFeatures } from '../../features/views/serving.js';
import type { UserView } from '../../features/views/user-view.js';
import { hashUserId } from '../../runtime/observability/user-hash.js';
import type { OnlineStore } from '../../runtime/online/online-store.js';
import type { Item, User } from '../../schemas/generated/types.js';

/** The parts of the recommendation service these routes read. */
export interface CatalogService {
  readonly catalog: { get(itemId: string): Item | undefined };
  readonly profiles: { get(userId: string): User | undefined };
}

export interface CatalogRoutesOptions {
  /** Undefined while the responder starts (requests get 503). */
  readonly service: () => CatalogService | undefined;
  readonly online: Pick<OnlineStore, 'get'>;
  /** Runs before the history route (the `users:read` check); unset: anyone may read a history. */
  readonly guardHistory?: onRequestAsyncHookHandler;
}

export interface ItemSummary {
  readonly item_id: string;
  readonly title: string;
  readonly categories: readonly string[];
  readonly maturity: string;
  readonly available: boolean;
}

export interface HistoryEntry {
  readonly item_id: string;
  /** Null when the catalog does not hold the item. */
  readonly title: string | null;
  readonly categories: readonly string[];
  /** The user's latest interaction with the item. */
  readonly type: string;
  readonly ts: number;
  readonly watch_fraction: number | null;
}

const USER_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const ITEM_ID = /^[^,]{1,256}$/;
const MAX_IDS = 200;
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
const TOP_AFFINITIES = 5;

export function itemSummary(item: Item): ItemSummary {
  return {
    item_id: item.item_id,
    title: item.title,
    categories: item.categories,
    maturity: item.maturity,
    available: item.available,
  };
}

export const catalogRoutes: FastifyPluginAsync<CatalogRoutesOptions> = async (app, options) => {
  app.get<{ Params: { userId: string }; Querystring: Record<string, string | string[] | undefined> }>(
    '/v1/users/:userId/history',
    { ...(options.guardHistory === undefined ? {} : { onRequest: options.guardHistory }) },
    async (request, reply) => {
      const { userId } = request.params;
      if (!USER_ID.test(userId))
        return reply.code(400).send({
          error: 'userId must be 1-128 characters of letters, digits and ._:@-',
          code: 'INVALID_USER_ID',
        });
      const rawLimit = request.query.limit;
      const limit = rawLimit === undefined ? DEFAULT_LIMIT : Number(rawLimit);
      if (typeof rawLimit === 'object' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
        return reply
          .code(400)
          .send({ error: `limit must be a whole number from 1 to ${MAX_LIMIT}`, code: 'INVALID_QUERY' });
      const service = options.service();
      if (service === undefined)
        return reply.code(503).send({ error: 'the responder is starting', code: 'NOT_READY' });
      let view: UserView | undefined;
      try {
        view = await options.online.get<UserView>('user', userId);
      } catch (error) {
        request.log.warn({ err: error, user: hashUserId(userId) }, 'user view unreadable for the console');
        return reply.code(503).send({
          error: `the online store could not be read: ${(error as Error).message}`,
          code: 'ONLINE_STORE_UNAVAILABLE',
        });
      }
      const profile = service.profiles.get(userId);
      const known = view !== undefined && (view.event_count > 0 || view.pending.length > 0);
      const features = known
        ? servingFeatures(view, Date.now(), profile, (item) => service.catalog.get(item))
        : undefined;
      const items: HistoryEntry[] = (features?.recent_items ?? []).slice(0, limit).map((recent) => {
        const item = service.catalog.get(recent.item_id);
        return {
          item_id: recent.item_id,
          title: item?.title ?? null,
          categories: item?.categories ?? [],
          type: recent.type,
          ts: recent.ts,
          watch_fraction: recent.watch_fraction,
        };
      });
      const affinity = Object.entries(features?.category_affinity ?? {})
        .sort((a, b) => b[1] - a[1])
        .slice(0, TOP_AFFINITIES)
        .map(([category, share]) => ({ category, share }));
      return {
        user_id: userId,
        known,
        profile:
          profile === undefined
            ? null
            : { country: profile.country, age_bucket: profile.age_bucket, opt_out: profile.opt_out },
        event_count: features?.event_count ?? 0,
        last_active_ts: features?.last_active_ts ?? null,
        affinity,
        items,
      };
    },
  );

  app.get<{ Querystring: Record<string, string | string[] | undefined> }>(
    '/v1/items',
    async (request, reply) => {
      const raw = request.query.ids;
      if (typeof raw !== 'string' || raw.length === 0)
        return reply
          .code(400)
          .send({ error: 'ids must be given once, as comma-separated item ids', code: 'INVALID_QUERY' });
      const ids = raw.split(',');
      if (ids.length > MAX_IDS || ids.some((id) => !ITEM_ID.test(id)))
        return reply.code(400).send({
          error: `ids must be 1-${MAX_IDS} non-empty item ids of at most 256 characters`,
          code: 'INVALID_QUERY',
        });
      const service = options.service();
      if (service === undefined)
        return reply.code(503).send({ error: 'the responder is starting', code: 'NOT_READY' });
      return {
        items: ids.map((id) => {
          const item = service.catalog.get(id);
          return item === undefined ? null : itemSummary(item);
        }),
      };
    },
  );
};
