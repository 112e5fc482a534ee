/**
 * Option values of `recstream` commands, checked before a command starts
 * anything. A bad value is a ConfigError naming the option and what was
 * given, which main.ts prints as one line with exit status 1, rather than
 * an unexpected failure with a stack trace.
 *
 * @example
 * ```ts
 * const limit = wholeNumberOption(values.limit, '--limit', 100);
 * const scale = choiceOption(values.scale, '--scale', ['small', 'full'], 'small');
 * ```
 */
import { ConfigError } from '../runtime/errors.js';

type RawOption = string | boolean | undefined;

/**
 * A whole number option, `fallback` when absent. Underscores may group
 * digits (`1_000_000`). `min` defaults to 1.
 * @throws ConfigError when the value is not a whole number in [min, max]
 */
export function wholeNumberOption(
  raw: RawOption,
  name: string,
  fallback: number,
  range: { readonly min?: number; readonly max?: number } = {},
): number {
  if (raw === undefined) return fallback;
  const min = range.min ?? 1;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const text = typeof raw === 'string' ? raw.trim().replaceAll('_', '') : '';
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new ConfigError(`${name} must be ${describeRange(min, max)}, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * One of `allowed`, `fallback` when absent.
 * @throws ConfigError when the value is not one of them
 */
export function choiceOption<T extends string>(
  raw: RawOption,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T;
export function choiceOption<T extends string>(
  raw: RawOption,
  name: string,
  allowed: readonly T[],
): T | undefined;
export function choiceOption<T extends string>(
  raw: RawOption,
  name: string,
  allowed: readonly T[],
  fallback?: T,
): T | undefined {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !(allowed as readonly string[]).includes(raw))
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as T;
}

function describeRange(min: number, max: number): string {
  if (max !== Number.MAX_SAFE_INTEGER) return `a whole number from ${min} to ${max}`;
  if (min === 0) return 'a whole number';
  return min === 1 ? 'a positive whole number' : `a whole number of at least ${min}`;
}

/**
 * A percentage option (`5%` or `5`, the sign optional) as a share in
 * (0, 1): `5%` is 0.05. Undefined when absent.
 * @throws ConfigError when the value is not a number above 0 and below 100
 */
export function percentOption(raw: RawOption, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const text = typeof raw === 'string' ? raw.trim().replace(/\s*%$/, '') : '';
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(n > 0 && n < 100))
    throw new ConfigError(
      `${name} must be a percentage above 0 and below 100 (e.g. 5%), got ${JSON.stringify(raw)}`,
    );
  return n / 100;
}
