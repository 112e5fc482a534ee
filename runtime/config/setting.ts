/**
 * What one configuration setting is: the environment variable it is read
 * from, the kind of value it holds (which says how it is parsed), its
 * default written as the variable would be, a doc line for `--help`, and
 * the values or range it is held to. The types say what a validated
 * setting holds, so the configuration's type follows from its schema.
 *
 * @example
 * ```ts
 * const PORT = { httpPort: { env: 'RECSTREAM_HTTP_PORT', kind: 'int', min: 0, max: 65535, default: 8080, doc: 'port' } } as const satisfies Record<string, Setting>;
 * type Port = ValuesOf<typeof PORT>; // { readonly httpPort: number }
 * ```
 */
import type { ApiKeyEntry, TrustProxy } from '../http-access.js';

/** How a setting's value is parsed and checked. */
export type Kind =
  | 'string'
  | 'int'
  | 'float'
  | 'json'
  | 'enum'
  | 'url-list'
  | 'url'
  | 'api-keys'
  | 'trust-proxy'
  | 'steps';

export interface Setting<K extends Kind = Kind> {
  readonly env: string;
  readonly kind: K;
  readonly default: string | number | undefined;
  readonly doc: string;
  readonly values?: readonly string[];
  readonly min?: number;
  readonly max?: number;
}

/** The value a validated setting of `S`'s kind holds. */
type ValueOf<S extends Setting> = S['kind'] extends 'int' | 'float'
  ? number
  : S['kind'] extends 'json'
    ? Readonly<Record<string, unknown>>
    : S['kind'] extends 'url-list'
      ? readonly string[]
      : S['kind'] extends 'steps'
        ? readonly number[]
        : S['kind'] extends 'api-keys'
          ? readonly ApiKeyEntry[]
          : S['kind'] extends 'trust-proxy'
            ? TrustProxy
            : S['kind'] extends 'enum'
              ? S extends { values: readonly (infer V)[] }
                ? V
                : string
              : string;

/** A setting's value, or undefined where it has no default. */
type SettingValue<S extends Setting> = S['default'] extends undefined ? ValueOf<S> | undefined : ValueOf<S>;

/** The validated values of a table of settings, by name. */
export type ValuesOf<T extends Record<string, Setting>> = { readonly [K in keyof T]: SettingValue<T[K]> };
