/**
 * The schema registry port over a Confluent-compatible Schema Registry
 * (Confluent's, Redpanda's, Karapace, Apicurio's ccompat API, or recstream's
 * own `registry/server.ts`). Registration goes through
 * `@kafkajs/confluent-schema-registry`; the calls that library does not
 * offer (versions, levels, compatibility tests, lookups with versions) use
 * the same REST API directly. Schema texts by id never change, so they are
 * cached for the life of the client.
 *
 * @example
 * ```ts
 * const registry = await openConfluentRegistry({ url: 'http://schema-registry:8081' });
 * const id = await registry.register('rec.items-value', loadSchema('rec.items-value'));
 * ```
 */
import {
  COMPATIBILITY,
  SchemaRegistry as ConfluentClient,
  SchemaType,
} from '@kafkajs/confluent-schema-registry';
import { ConnectionError, RecstreamError, SchemaNotFoundError, StorageError } from '../../errors.js';
import { parseAvroType, schemaText } from '../../serde/avro.js';
import type {
  CompatibilityLevel,
  CompatibilityReport,
  SchemaInput,
  SchemaRegistry,
  SubjectVersion,
} from '../registry.js';
import { type RegistryEndpoint, RegistryHttp, registryError } from './http.js';

export type ConfluentRegistryOptions = RegistryEndpoint;

/**
 * Connects to a registry and checks that it answers.
 *
 * @throws ConnectionError when it cannot be reached
 * @example
 * ```ts
 * const registry = await openConfluentRegistry({ url: process.env.RECSTREAM_SCHEMA_REGISTRY_URL! });
 * ```
 */
export async function openConfluentRegistry(
  options: ConfluentRegistryOptions,
): Promise<ConfluentSchemaRegistry> {
  const registry = new ConfluentSchemaRegistry(options);
  await registry.getDefaultCompatibility();
  return registry;
}

interface SubjectVersionAnswer {
  subject: string;
  version: number;
  id: number;
  schema: string;
}

export class ConfluentSchemaRegistry implements SchemaRegistry {
  private readonly http: RegistryHttp;
  private readonly client: ConfluentClient;
  private readonly texts = new Map<number, Promise<string>>();
  private closed = false;

  constructor(options: ConfluentRegistryOptions) {
    this.http = new RegistryHttp(options);
    this.client = new ConfluentClient({
      host: this.http.baseUrl,
      ...(this.http.auth === undefined ? {} : { auth: this.http.auth }),
    });
  }

  async register(subject: string, schema: SchemaInput): Promise<number> {
    const text = schemaText(schema);
    parseAvroType(text);
    // The library refuses to register when the level it is given differs from the subject's own,
    // so it is given the subject's own; where the subject has none it is given none (its default,
    // BACKWARD, would be set on the subject after a first registration).
    const level = await this.subjectLevel(subject);
    try {
      const { id } = await this.client.register(
        { type: SchemaType.AVRO, schema: text },
        { subject, compatibility: level === undefined ? undefined : COMPATIBILITY[level] },
      );
      return id;
    } catch (err) {
      throw this.libraryError(err, `POST /subjects/${subject}/versions`);
    }
  }

  async lookup(subject: string, schema: SchemaInput): Promise<SubjectVersion | undefined> {
    try {
      const found = await this.call<SubjectVersionAnswer>('POST', `/subjects/${enc(subject)}`, {
        schema: schemaText(schema),
      });
      return toSubjectVersion(found);
    } catch (err) {
      if (err instanceof SchemaNotFoundError) return undefined;
      throw err;
    }
  }

  getById(id: number): Promise<string> {
    let text = this.texts.get(id);
    if (text === undefined) {
      text = this.call<{ schema: string }>('GET', `/schemas/ids/${id}`).then(
        (answer) => schemaText(answer.schema),
        (err: unknown) => {
          // A 404 on this path is always the id, whatever error code the registry chose.
          if (err instanceof SchemaNotFoundError) throw new SchemaNotFoundError(err.message, 'schema');
          throw err;
        },
      );
      this.texts.set(id, text);
      text.catch(() => this.texts.delete(id));
    }
    return text;
  }

  async getLatest(subject: string): Promise<SubjectVersion> {
    return toSubjectVersion(
      await this.call<SubjectVersionAnswer>('GET', `/subjects/${enc(subject)}/versions/latest`),
    );
  }

  async getVersion(subject: string, version: number): Promise<SubjectVersion> {
    return toSubjectVersion(
      await this.call<SubjectVersionAnswer>('GET', `/subjects/${enc(subject)}/versions/${version}`),
    );
  }

  async listSubjects(): Promise<string[]> {
    return (await this.call<string[]>('GET', '/subjects')).sort();
  }

  async listVersions(subject: string): Promise<number[]> {
    return (await this.call<number[]>('GET', `/subjects/${enc(subject)}/versions`)).sort((a, b) => a - b);
  }

  async getCompatibility(subject: string): Promise<CompatibilityLevel> {
    return (await this.subjectLevel(subject, true)) ?? this.getDefaultCompatibility();
  }

  async setCompatibility(subject: string, level: CompatibilityLevel): Promise<void> {
    await this.call('PUT', `/config/${enc(subject)}`, { compatibility: level });
  }

  async getDefaultCompatibility(): Promise<CompatibilityLevel> {
    return (await this.call<{ compatibilityLevel: CompatibilityLevel }>('GET', '/config')).compatibilityLevel;
  }

  async setDefaultCompatibility(level: CompatibilityLevel): Promise<void> {
    await this.call('PUT', '/config', { compatibility: level });
  }

  async checkCompatibility(subject: string, schema: SchemaInput): Promise<CompatibilityReport> {
    const text = schemaText(schema);
    parseAvroType(text);
    try {
      const answer = await this.call<{ is_compatible: boolean; messages?: string[] }>(
        'POST',
        `/compatibility/subjects/${enc(subject)}/versions?verbose=true`,
        { schema: text },
      );
      return {
        compatible: answer.is_compatible,
        messages: answer.is_compatible ? [] : (answer.messages ?? []),
      };
    } catch (err) {
      // A subject with no versions accepts any schema.
      if (err instanceof SchemaNotFoundError && err.missing === 'subject')
        return { compatible: true, messages: [] };
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** The subject's own level; with `defaultToGlobal`, registries that support it answer with the default. */
  private async subjectLevel(
    subject: string,
    defaultToGlobal = false,
  ): Promise<CompatibilityLevel | undefined> {
    try {
      const query = defaultToGlobal ? '?defaultToGlobal=true' : '';
      const answer = await this.call<{ compatibilityLevel: CompatibilityLevel }>(
        'GET',
        `/config/${enc(subject)}${query}`,
      );
      return answer.compatibilityLevel;
    } catch (err) {
      if (err instanceof SchemaNotFoundError) return undefined;
      throw err;
    }
  }

  private call<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
    if (this.closed) throw new StorageError('the schema registry client was closed');
    return this.http.request<T>(method, path, body);
  }

  /** Maps the library's errors (mappersmith responses with a status) to recstream errors. */
  private libraryError(err: unknown, what: string): RecstreamError {
    if (err instanceof RecstreamError) return err;
    const status = (err as { status?: unknown }).status;
    const message = ((err as Error).message ?? String(err)).replace(/^[^-]* - /, '');
    if (
      typeof status === 'number' &&
      status >= 400 &&
      !/ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket hang up/.test(message)
    ) {
      return registryError(status, JSON.stringify({ message }), what, this.http.baseUrl);
    }
    return new ConnectionError(`schema registry at ${this.http.baseUrl} failed ${what}: ${message}`, err);
  }
}

function enc(subject: string): string {
  return encodeURIComponent(subject);
}

function toSubjectVersion(answer: SubjectVersionAnswer): SubjectVersion {
  return {
    subject: answer.subject,
    version: answer.version,
    id: answer.id,
    schema: schemaText(answer.schema),
  };
}
