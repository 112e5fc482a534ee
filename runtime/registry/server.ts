/**
 * Confluent Schema Registry's REST API over any SchemaRegistry (in practice
 * the embedded one), so that other services and Confluent clients — the
 * registry's `confluent/` back-end among them — can use recstream's registry.
 * Paths, JSON shapes and error codes are Confluent's: 404 with 40401 (subject),
 * 40402 (version) or 40403 (schema), 409 for an incompatible schema, 422 with
 * 42201 (invalid schema), 42202 (invalid version) or 42203 (invalid level).
 * Only AVRO schemas without references are accepted; deleting subjects,
 * modes and contexts are not offered.
 *
 * @example
 * ```ts
 * const server = await startRegistryServer({ registry: await openEmbeddedRegistry({ dataDir }), port: 8081 });
 * // curl -s localhost:8081/subjects
 * await server.close();
 * ```
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import {
  ConnectionError,
  IncompatibleSchemaError,
  InvalidSchemaError,
  SchemaNotFoundError,
  StorageError,
} from '../errors.js';
import { parseAvroType } from '../serde/avro.js';
import { compatibilityMessages } from './compatibility.js';
import { type CompatibilityLevel, isCompatibilityLevel, type SchemaRegistry } from './registry.js';

export interface RegistryRoutesOptions {
  readonly registry: SchemaRegistry;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

interface SchemaBody {
  schema?: unknown;
  schemaType?: unknown;
  references?: unknown;
}

interface CompatibilityBody {
  compatibility?: unknown;
}

type SubjectParams = { subject: string };
type VersionParams = { subject: string; version: string };

/** A request the API refuses with a Confluent error code. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The API as a fastify plugin; register it at the root (Confluent clients
 * expect `/subjects`, not a prefix).
 *
 * @example
 * ```ts
 * const app = Fastify();
 * await app.register(registryRoutes, { registry });
 * const res = await app.inject({ method: 'GET', url: '/subjects' });
 * ```
 */
export async function registryRoutes(app: FastifyInstance, options: RegistryRoutesOptions): Promise<void> {
  const { registry } = options;

  app.addContentTypeParser(
    /^application\/vnd\.schemaregistry(\.v1)?\+json/,
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'ignore'),
  );
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-type', CONTENT_TYPE);
    return payload;
  });
  app.setErrorHandler((err, _request, reply) => sendError(reply, err));

  app.get('/', async () => ({}));
  app.get('/schemas/types', async () => ['AVRO']);

  app.get<{ Params: { id: string } }>('/schemas/ids/:id', async (request) => ({
    schema: await registry.getById(schemaId(request.params.id)),
  }));
  app.get<{ Params: { id: string } }>('/schemas/ids/:id/schema', async (request) =>
    JSON.parse(await registry.getById(schemaId(request.params.id))),
  );

  app.get('/subjects', async () => registry.listSubjects());
  app.get<{ Params: SubjectParams }>('/subjects/:subject/versions', async (request) =>
    registry.listVersions(request.params.subject),
  );
  app.get<{ Params: VersionParams }>('/subjects/:subject/versions/:version', async (request) =>
    subjectVersion(registry, request.params),
  );
  app.get<{ Params: VersionParams }>('/subjects/:subject/versions/:version/schema', async (request) =>
    JSON.parse((await subjectVersion(registry, request.params)).schema),
  );

  app.post<{ Params: SubjectParams; Body: SchemaBody }>('/subjects/:subject/versions', async (request) => ({
    id: await registry.register(request.params.subject, avroSchema(request.body)),
  }));
  app.post<{ Params: SubjectParams; Body: SchemaBody }>('/subjects/:subject', async (request) => {
    const { subject } = request.params;
    const schema = avroSchema(request.body);
    await registry.listVersions(subject); // 40401 when the subject does not exist
    const found = await registry.lookup(subject, schema);
    if (found === undefined) throw new ApiError(404, 40403, `Schema not found under subject '${subject}'`);
    return found;
  });

  app.get('/config', async () => ({ compatibilityLevel: await registry.getDefaultCompatibility() }));
  app.put<{ Body: CompatibilityBody }>('/config', async (request) => {
    const level = compatibilityLevel(request.body);
    await registry.setDefaultCompatibility(level);
    return { compatibility: level };
  });
  // A subject without a level of its own answers with the default, as with defaultToGlobal=true.
  app.get<{ Params: SubjectParams }>('/config/:subject', async (request) => ({
    compatibilityLevel: await registry.getCompatibility(request.params.subject),
  }));
  app.put<{ Params: SubjectParams; Body: CompatibilityBody }>('/config/:subject', async (request) => {
    const level = compatibilityLevel(request.body);
    await registry.setCompatibility(request.params.subject, level);
    return { compatibility: level };
  });

  app.post<{ Params: SubjectParams; Body: SchemaBody; Querystring: { verbose?: string } }>(
    '/compatibility/subjects/:subject/versions',
    async (request) => {
      const report = await registry.checkCompatibility(request.params.subject, avroSchema(request.body));
      return compatibilityAnswer(report.compatible, report.messages, request.query.verbose);
    },
  );
  app.post<{ Params: VersionParams; Body: SchemaBody; Querystring: { verbose?: string } }>(
    '/compatibility/subjects/:subject/versions/:version',
    async (request) => {
      const { subject } = request.params;
      const schema = avroSchema(request.body);
      const against = await subjectVersion(registry, request.params);
      const latest = await registry.getLatest(subject);
      const level = await registry.getCompatibility(subject);
      const messages = compatibilityMessages({
        subject,
        // Against one named version, a transitive level means the same as its plain form.
        level: level.replace('_TRANSITIVE', '') as CompatibilityLevel,
        candidate: { version: latest.version + 1, type: parseAvroType(schema) },
        previous: [{ version: against.version, type: parseAvroType(against.schema) }],
      });
      return compatibilityAnswer(messages.length === 0, messages, request.query.verbose);
    },
  );
}

export interface RegistryServerOptions extends RegistryRoutesOptions {
  /** Default 127.0.0.1; 0.0.0.0 to serve other hosts. */
  readonly host?: string;
  /** Default 8081, Confluent's; 0 picks a free port. */
  readonly port?: number;
}

export interface RegistryServer {
  /** Base URL, e.g. http://127.0.0.1:8081. */
  readonly url: string;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * Serves a registry over HTTP until `close`.
 *
 * @example
 * ```ts
 * const server = await startRegistryServer({ registry, port: 0 });
 * const client = await openConfluentRegistry({ url: server.url });
 * ```
 */
export async function startRegistryServer(options: RegistryServerOptions): Promise<RegistryServer> {
  const app = Fastify();
  await app.register(registryRoutes, { registry: options.registry });
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 8081 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shown}:${port}`, app, close: () => app.close() };
}

function schemaId(text: string): number {
  const id = Number(text);
  if (!Number.isSafeInteger(id) || id < 1) throw new ApiError(404, 40403, `Schema ${text} not found`);
  return id;
}

async function subjectVersion(registry: SchemaRegistry, params: VersionParams) {
  const { subject, version } = params;
  if (version === 'latest' || version === '-1') return registry.getLatest(subject);
  const number = Number(version);
  if (!Number.isInteger(number) || number < 1 || number > 2 ** 31 - 1) {
    throw new ApiError(
      422,
      42202,
      `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
    );
  }
  return registry.getVersion(subject, number);
}

function avroSchema(body: SchemaBody | undefined): string {
  if (body === undefined || body === null || typeof body.schema !== 'string') {
    throw new ApiError(
      422,
      42201,
      'Invalid schema: the request body must be {"schema": "<schema JSON as a string>"}',
    );
  }
  if (body.schemaType !== undefined && body.schemaType !== null && body.schemaType !== 'AVRO') {
    throw new ApiError(
      422,
      42201,
      `Invalid schema: schemaType ${String(body.schemaType)} is not supported; this registry stores AVRO`,
    );
  }
  if (Array.isArray(body.references) && body.references.length > 0) {
    throw new ApiError(422, 42201, 'Invalid schema: schema references are not supported');
  }
  return body.schema;
}

function compatibilityLevel(body: CompatibilityBody | undefined): CompatibilityLevel {
  const level = typeof body?.compatibility === 'string' ? body.compatibility.toUpperCase() : undefined;
  if (!isCompatibilityLevel(level)) {
    throw new ApiError(422, 42203, `Invalid compatibility level: ${String(body?.compatibility)}`);
  }
  return level;
}

function compatibilityAnswer(compatible: boolean, messages: readonly string[], verbose: string | undefined) {
  return verbose === 'true' ? { is_compatible: compatible, messages } : { is_compatible: compatible };
}

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const [status, errorCode, message] = errorAnswer(err);
  return reply.status(status).send({ error_code: errorCode, message });
}

function errorAnswer(err: unknown): [number, number, string] {
  if (err instanceof ApiError) return [err.status, err.errorCode, err.message];
  if (err instanceof SchemaNotFoundError) {
    const code = { subject: 40401, version: 40402, schema: 40403 }[err.missing];
    return [404, code, err.message];
  }
  if (err instanceof IncompatibleSchemaError) return [409, 409, err.message];
  if (err instanceof InvalidSchemaError) return [422, 42201, err.message];
  if (err instanceof StorageError) return [500, 50001, `Error in the backend data store: ${err.message}`];
  if (err instanceof ConnectionError) return [500, 50002, `Operation timed out: ${err.message}`];
  const fastifyError = err as Partial<FastifyError>;
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
    return [fastifyError.statusCode, fastifyError.statusCode, fastifyError.message ?? 'Bad request'];
  }
  return [500, 50001, `Error in the backend data store: ${(err as Error).message}`];
}
