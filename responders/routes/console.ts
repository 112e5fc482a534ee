/**
 * The operator console (`GET /`): one page of plain HTML, CSS and ES
 * modules (../console/), read once when the app is built and served as they
 * are, no build step at run time; with it the JSON the page polls
 * (./status.ts: `GET /v1/status`, `GET /v1/models`; ./catalog.ts:
 * `GET /v1/users/:userId/history`, `GET /v1/items`, served when the
 * responder has an online store). The page sends the token the operator
 * pastes into it (kept in sessionStorage) with the history request and to
 * the admin API for promote and roll back.
 *
 * The page loads nothing from outside this responder (a Content-Security-
 * Policy of `'self'` says so to the browser).
 *
 * @example
 * ```ts
 * await app.register(consoleRoutes, { metrics, log, serde, modelName: 'recstream', indexName: 'items',
 *   service: () => service, online, adminEnabled: true });
 * // open http://127.0.0.1:8080/
 * ```
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, onRequestAsyncHookHandler } from 'fastify';
import type { OnlineStore } from '../../runtime/online/online-store.js';
import { type CatalogService, catalogRoutes } from './catalog.js';
import { type StatusRoutesOptions, type StatusService, statusRoutes } from './status.js';

export interface ConsoleOptions extends Omit<StatusRoutesOptions, 'service'> {
  /** Undefined: this responder serves no recommendations. The function returns undefined while it starts. */
  readonly service?: () => (StatusService & CatalogService) | undefined;
  /** Where user histories are read; without it the history route is not served. */
  readonly online?: Pick<OnlineStore, 'get'>;
  /** The page's files; default `../console/` next to this module (copied into dist/ by the build). */
  readonly assetsDir?: string;
  /** Who may read a user's history (the `users:read` guard); unset: anyone. */
  readonly guardHistory?: onRequestAsyncHookHandler;
}

/**
 * The console's ES modules, served at `/console/<file>`: `console.js`, the
 * one the page loads, and those it imports.
 */
export const CONSOLE_MODULES: readonly string[] = [
  'console.js',
  'admin.js',
  'api.js',
  'chart.js',
  'confirm-button.js',
  'dom.js',
  'experiments.js',
  'format.js',
  'models.js',
  'recommend.js',
  'samples.js',
  'status-panel.js',
];

/** The console's files: URL path → file name and content type. */
const ASSETS: Readonly<Record<string, { readonly file: string; readonly type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  ...Object.fromEntries(
    CONSOLE_MODULES.map((file) => [`/console/${file}`, { file, type: 'text/javascript; charset=utf-8' }]),
  ),
  '/console/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
};

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../console/', import.meta.url));

export const consoleRoutes: FastifyPluginAsync<ConsoleOptions> = async (app, options) => {
  const dir = options.assetsDir ?? DEFAULT_CONSOLE_DIR;
  for (const [path, { file, type }] of Object.entries(ASSETS)) {
    let body: Buffer | undefined;
    let problem: string | undefined;
    try {
      body = readFileSync(join(dir, file));
    } catch (error) {
      problem = `the console's ${file} is missing from ${dir} (${(error as Error).message}); run npm run build`;
      app.log.warn(problem);
    }
    app.get(path, async (_request, reply) => {
      if (body === undefined) return reply.code(500).send({ error: problem, code: 'CONSOLE_MISSING' });
      return reply
        .header('content-type', type)
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', CSP)
        .header('referrer-policy', 'no-referrer')
        .send(body);
    });
  }
  const { service, online, assetsDir: _assetsDir, guardHistory, ...status } = options;
  await app.register(statusRoutes, { ...status, ...(service === undefined ? {} : { service }) });
  if (service !== undefined && online !== undefined)
    await app.register(catalogRoutes, {
      service,
      online,
      ...(guardHistory === undefined ? {} : { guardHistory }),
    });
};
