/**
 * JSON over HTTP to a Confluent-compatible schema registry, with Confluent's
 * error answers ({ error_code, message }) turned into recstream errors:
 * 404 → SchemaNotFoundError (40401 subject, 40402 version, 40403 schema),
 * 409 → IncompatibleSchemaError, 422 → InvalidSchemaError (or ConfigError
 * for a bad compatibility level), 401/403 → ConfigError, 5xx, 408, 429 and
 * network failures → ConnectionError (retriable).
 *
 * @example
 * ```ts
 * const http = new RegistryHttp({ url: 'http://localhost:8081' });
 * const subjects = await http.request<string[]>('GET', '/subjects');
 * ```
 */
import {
  ConfigError,
  ConnectionError,
  IncompatibleSchemaError,
  InvalidSchemaError,
  RecstreamError,
  SchemaNotFoundError,
} from '../../errors.js';
import { fieldOfMessage } from '../compatibility.js';

export interface RegistryEndpoint {
  /** Base URL; credentials in it (http://user:pass@host:8081) are sent as HTTP basic auth. */
  readonly url: string;
  /** Basic-auth credentials, instead of putting them in the URL. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** Per-request timeout; default 10 s. */
  readonly timeoutMs?: number;
}

const MEDIA_TYPE = 'application/vnd.schemaregistry.v1+json';

export class RegistryHttp {
  /** Base URL without credentials or a trailing slash. */
  readonly baseUrl: string;
  /** Credentials, for clients that take them apart from the URL. */
  readonly auth: { readonly username: string; readonly password: string } | undefined;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(endpoint: RegistryEndpoint) {
    let url: URL;
    try {
      url = new URL(endpoint.url);
    } catch {
      throw new ConfigError(`RECSTREAM_SCHEMA_REGISTRY_URL: '${endpoint.url}' is not a URL`);
    }
    this.auth =
      endpoint.auth ??
      (url.username === ''
        ? undefined
        : { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) });
    url.username = '';
    url.password = '';
    this.baseUrl = url.href.replace(/\/+$/, '');
    this.timeoutMs = endpoint.timeoutMs ?? 10_000;
    this.headers = { accept: `${MEDIA_TYPE}, application/json`, 'content-type': MEDIA_TYPE };
    if (this.auth !== undefined) {
      const token = Buffer.from(`${this.auth.username}:${this.auth.password}`).toString('base64');
      this.headers.authorization = `Basic ${token}`;
    }
  }

  /**
   * Sends one request and returns the parsed JSON answer.
   *
   * @param path - starts with a slash; subjects in it must already be URI-encoded
   */
  async request<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: this.headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const reason = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new ConnectionError(
        `schema registry at ${this.baseUrl} cannot be reached (${method} ${path}): ${reason}`,
        err,
      );
    }
    const text = await response.text();
    if (response.ok) return (text === '' ? undefined : JSON.parse(text)) as T;
    throw registryError(response.status, text, `${method} ${path}`, this.baseUrl);
  }
}

/** The recstream error for a registry's error answer. */
export function registryError(status: number, text: string, what: string, baseUrl: string): RecstreamError {
  let errorCode: number | undefined;
  let message = text;
  try {
    const answer = JSON.parse(text) as { error_code?: number; message?: string };
    errorCode = answer.error_code;
    message = answer.message ?? text;
  } catch {
    // Not Confluent's JSON (a proxy's error page, say): keep the text.
  }
  const where = `schema registry at ${baseUrl}`;
  if (status === 404) {
    const missing = errorCode === 40401 ? 'subject' : errorCode === 40402 ? 'version' : 'schema';
    return new SchemaNotFoundError(message, missing);
  }
  if (status === 409) return new IncompatibleSchemaError(message, fieldOfMessage(message));
  if (status === 422 && errorCode === 42203) return new ConfigError(message);
  if (status === 422 && errorCode === 42202) return new SchemaNotFoundError(message, 'version');
  if (status === 422) return new InvalidSchemaError(message);
  if (status === 401 || status === 403) {
    return new ConfigError(
      `${where} refused the credentials (${status}) for ${what}; check RECSTREAM_SCHEMA_REGISTRY_URL`,
    );
  }
  if (status >= 500 || status === 408 || status === 429) {
    return new ConnectionError(`${where} failed ${what} with ${status}: ${message}`);
  }
  return new RecstreamError(`${where} refused ${what} with ${status}: ${message}`, {
    code: 'SCHEMA_REGISTRY_REQUEST_FAILED',
  });
}
