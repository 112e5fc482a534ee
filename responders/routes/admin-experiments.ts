/**
 * The admin API's experiments, registered inside the admin routes
 * (./admin.ts), so the same `admin` guard, rate limit, audit log and
 * error handling cover them:
 *
 * - `GET /admin/experiments` → `200 { experiments: Experiment[] }`, by id.
 * - `GET /admin/experiments/:id` → `200 { experiment, figures }`: `figures`
 *   is the report of `readExperimentFigures` (null while nothing was
 *   counted), only where the responder's online store holds the figures.
 * - `POST /admin/experiments`, body = the experiment JSON (the file of
 *   `recstream experiments start`) → `201 { experiment, replaced }`
 *   (`replaced`: the status of the stopped or concluded run the id had, or
 *   null).
 * - `POST /admin/experiments/:id/stop`, optional body `{ "reason": "..." }`
 *   → `200 { experiment }` (its stopped state).
 *
 * Refusals name the field, as `{ error, code, field, reason }`:
 * - 400 `EXPERIMENT_INVALID` for a bad experiment (shares not summing to
 *   1: `variants`; an unknown model version: `variants[1].model`; an
 *   unknown key) or stop body;
 * - 404 `EXPERIMENT_NOT_FOUND` (`field: "id"`) for an unknown id;
 * - 409 `EXPERIMENT_CONFLICT` for an overlap with a running experiment
 *   (`traffic_start`), starting an id that is running or stopping one that
 *   is not (`id`).
 *
 * @example
 * ```ts
 * // inside adminRoutes, after its guard and error handler:
 * await app.register(adminExperimentRoutes, { actions: platformAdminActions(platform, store) });
 * // curl -X POST -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
 * //   http://127.0.0.1:8080/admin/experiments -d @ab.json
 * ```
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import {
  ExperimentConflictError,
  ExperimentInvalidError,
  ExperimentNotFoundError,
} from '../../registry/experiments/errors.js';
import { OnlineStoreUnavailableError } from '../../runtime/errors.js';
import type { Experiment } from '../../schemas/generated/types.js';

/** What the experiment endpoints do (./admin-actions.ts in app/ runs them on the platform). */
export interface ExperimentAdminActions {
  /** Every experiment's newest state, by id. */
  listExperiments(): Promise<Experiment[]>;
  /** @throws ExperimentNotFoundError */
  readExperiment(id: string): Promise<Experiment>;
  /** Checks and publishes an experiment from its JSON form. */
  startExperiment(json: unknown): Promise<{ experiment: Experiment; replaced: Experiment | undefined }>;
  /** Publishes a running experiment's stopped state. */
  stopExperiment(id: string, reason?: string): Promise<Experiment>;
  /**
   * The experiment's online figures and verdict (`readExperimentFigures`'s
   * report, sent as it is: the route does not read it), undefined while
   * none were counted; absent where the responder has no online store.
   * @throws OnlineStoreUnavailableError where the store does not hold them
   */
  readFigures?(experiment: Experiment): Promise<object | undefined>;
}

export interface AdminExperimentRoutesOptions {
  readonly actions: ExperimentAdminActions;
}

/** Runs `work`; an experiment refused on purpose is answered with its status and field here. */
async function refusals(reply: FastifyReply, work: () => Promise<unknown>): Promise<unknown> {
  try {
    return await work();
  } catch (error) {
    const status =
      error instanceof ExperimentInvalidError
        ? 400
        : error instanceof ExperimentNotFoundError
          ? 404
          : error instanceof ExperimentConflictError
            ? 409
            : undefined;
    if (status === undefined) throw error;
    const refused = error as ExperimentInvalidError | ExperimentConflictError | ExperimentNotFoundError;
    const [field, reason] =
      refused instanceof ExperimentNotFoundError ? ['id', refused.message] : [refused.field, refused.reason];
    return reply.code(status).send({ error: refused.message, code: refused.code, field, reason });
  }
}

function stopReason(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'object' || Array.isArray(body))
    throw new ExperimentInvalidError('body', 'must be an object like {"reason": "..."}');
  for (const key of Object.keys(body))
    if (key !== 'reason') throw new ExperimentInvalidError(key, 'is not a known field here (known: reason)');
  const { reason } = body as { reason?: unknown };
  if (reason === undefined) return undefined;
  if (typeof reason !== 'string' || reason.length === 0 || reason.length > 1000)
    throw new ExperimentInvalidError('reason', 'must be a string of 1 to 1000 characters');
  return reason;
}

/** `{ figures }` (null while none were counted) where the online store holds them, else `{}`. */
async function figuresOf(
  actions: ExperimentAdminActions,
  experiment: Experiment,
): Promise<{ figures?: object | null }> {
  if (actions.readFigures === undefined) return {};
  try {
    return { figures: (await actions.readFigures(experiment)) ?? null };
  } catch (error) {
    // The experiment-metrics application runs elsewhere and its figures are not in Redis.
    if (error instanceof OnlineStoreUnavailableError) return {};
    throw error;
  }
}

export const adminExperimentRoutes: FastifyPluginAsync<AdminExperimentRoutesOptions> = async (
  app,
  { actions },
) => {
  app.get('/admin/experiments', async () => ({ experiments: await actions.listExperiments() }));

  app.get<{ Params: { id: string } }>('/admin/experiments/:id', (request, reply) =>
    refusals(reply, async () => {
      const experiment = await actions.readExperiment(request.params.id);
      return { experiment, ...(await figuresOf(actions, experiment)) };
    }),
  );

  app.post('/admin/experiments', (request, reply) =>
    refusals(reply, async () => {
      const { experiment, replaced } = await actions.startExperiment(request.body);
      return reply.code(201).send({ experiment, replaced: replaced?.status ?? null });
    }),
  );

  app.post<{ Params: { id: string } }>('/admin/experiments/:id/stop', (request, reply) =>
    refusals(reply, async () => ({
      experiment: await actions.stopExperiment(request.params.id, stopReason(request.body)),
    })),
  );
};
