/**
 * The environment the shipped deployment files give recstream, read the way
 * docker-compose and Kubernetes read them: docker-compose.yml with its
 * `${VAR}` interpolation (the secrets of .env.example given stand-in
 * values), the ConfigMap and Secret references of deploy/k8s. For the tests
 * that check those files against the code (deploy.test.ts) and run
 * recstream with them (shipped-tracing.test.ts).
 *
 * @example
 * ```ts
 * const compose = readCompose();
 * const env = composeEnv(compose.services.responder); // RECSTREAM_REDIS_URL: redis://:<stand-in>@redis:6379, …
 * ```
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

// dist/deploy/shipped-env.js → the repository root.
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked field by field.
export type Doc = any;

/** Stand-ins for the secrets docker-compose.yml requires (.env.example lists them). */
export const COMPOSE_TEST_SECRETS: Readonly<Record<string, string>> = {
  REDIS_PASSWORD: 'composeTestRedisPassword0',
  RECSTREAM_JWT_SECRET: 'compose-test-jwt-secret-0123456789abcdef',
  GRAFANA_ADMIN_PASSWORD: 'composeTestGrafana0',
  RECSTREAM_LOG_HASH_KEY: 'compose-test-log-hash-key-0123456789abcdef',
};

/** Stand-ins for the Secret deploy/k8s/kustomization.yaml tells the operator to create: name → key → value. */
export const K8S_TEST_SECRETS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'recstream-secrets': {
    'redis-url': 'redis://:k8sTestRedisPassword0@redis:6379',
    'jwt-secret': 'k8s-test-jwt-secret-0123456789abcdef',
    'log-hash-key': 'k8s-test-log-hash-key-0123456789abcdef',
  },
};

/** Thrown by `interpolate` for a required variable (`${VAR:?message}`) that is unset or empty. */
export class MissingVariableError extends Error {
  readonly code = 'MISSING_VARIABLE';
  readonly retriable = false;
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'MissingVariableError';
  }
}

/**
 * docker-compose's interpolation: `$$` is a literal `$`; `${VAR}` and `$VAR`
 * the value ('' when unset); `${VAR:-default}` / `${VAR-default}`;
 * `${VAR:?message}` / `${VAR?message}` throw `MissingVariableError` when
 * unset (`:` also when empty).
 */
export function interpolate(text: string, vars: Readonly<Record<string, string | undefined>>): string {
  return text.replace(
    /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_, dollar: string, braced: string, op: string | undefined, arg: string, bare: string) => {
      if (dollar) return '$';
      const name = braced ?? bare;
      const value = vars[name];
      const missing = op?.startsWith(':') ? value === undefined || value === '' : value === undefined;
      if (op?.endsWith('?') && missing) throw new MissingVariableError(name, arg || 'required');
      if (op?.endsWith('-') && missing) return arg;
      return value ?? '';
    },
  );
}

/** docker-compose.yml as docker-compose reads it, with `vars` for its variables. */
export function readCompose(vars: Readonly<Record<string, string>> = COMPOSE_TEST_SECRETS): Doc {
  return parse(interpolate(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), vars), { merge: true });
}

/** A compose service's environment; a variable listed without a value is null. */
export function composeEnv(service: Doc): Record<string, string | null> {
  const env = service.environment ?? {};
  if (Array.isArray(env))
    return Object.fromEntries(
      env.map((e: string) =>
        e.includes('=') ? [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] : [e, null],
      ),
    );
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? null : String(v)]));
}

/** The manifests of deploy/k8s, one entry per YAML document, with the file each came from. */
export function readK8s(): { file: string; doc: Doc }[] {
  const dir = join(ROOT, 'deploy/k8s');
  const kustomization: Doc = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'));
  return (kustomization.resources as string[]).flatMap((file) =>
    parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => {
      if (d.errors.length > 0) throw new Error(`deploy/k8s/${file}: ${d.errors.join('; ')}`);
      return { file, doc: d.toJS() as Doc };
    }),
  );
}

/**
 * A container's environment as the kubelet builds it: its ConfigMaps
 * (`envFrom`), then its `env` values and Secret keys (`secrets`). Throws on
 * a reference to a ConfigMap not in `configMaps` or a Secret key not in
 * `secrets`; `fieldRef` values are left out.
 */
export function k8sContainerEnv(
  container: Doc,
  configMaps: ReadonlyMap<string, Readonly<Record<string, string>>>,
  secrets: Readonly<Record<string, Readonly<Record<string, string>>>> = K8S_TEST_SECRETS,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const data = configMaps.get(from.configMapRef?.name);
    if (data === undefined)
      throw new Error(`envFrom ${JSON.stringify(from)} names no ConfigMap of deploy/k8s`);
    Object.assign(env, data);
  }
  for (const e of container.env ?? []) {
    if (typeof e.value === 'string') env[e.name] = e.value;
    const ref = e.valueFrom?.secretKeyRef;
    if (ref === undefined) continue;
    const value = secrets[ref.name]?.[ref.key];
    if (value === undefined)
      throw new Error(`${e.name}: Secret ${ref.name} has no key ${ref.key} that the docs create`);
    env[e.name] = value;
  }
  return env;
}

/** The ConfigMaps of deploy/k8s by name. */
export function k8sConfigMaps(manifests: readonly { doc: Doc }[]): Map<string, Record<string, string>> {
  return new Map(
    manifests.filter((m) => m.doc?.kind === 'ConfigMap').map((m) => [m.doc.metadata.name, m.doc.data ?? {}]),
  );
}
