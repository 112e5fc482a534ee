/**
 * Parses one setting's raw value (from the environment, an override, or its
 * default written as the variable would be) by its kind, and refuses one
 * that does not fit with a ConfigError naming the variable.
 *
 * @example
 * ```ts
 * parse('httpPort', CONFIG_SCHEMA.httpPort, '9000'); // 9000
 * parse('httpPort', CONFIG_SCHEMA.httpPort, 'x');    // throws: RECSTREAM_HTTP_PORT="x" is not a whole number (…)
 * ```
 */
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { parseApiKeys, parseTrustProxy } from '../http-access.js';
import type { Setting } from './setting.js';

/** The value of setting `name` written as `raw`; `dataDir` is made absolute. */
export function parse(name: string, setting: Setting, raw: string): unknown {
  switch (setting.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim()))
        throw new ConfigError(`${setting.env}=${JSON.stringify(raw)} is not a whole number (${setting.doc})`);
      const n = Number(raw);
      if ((setting.min !== undefined && n < setting.min) || (setting.max !== undefined && n > setting.max)) {
        throw new ConfigError(`${setting.env}=${n} is out of range ${setting.min}..${setting.max}`);
      }
      return n;
    }
    case 'float': {
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(n))
        throw new ConfigError(`${setting.env}=${JSON.stringify(raw)} is not a number (${setting.doc})`);
      if ((setting.min !== undefined && n < setting.min) || (setting.max !== undefined && n > setting.max))
        throw new ConfigError(`${setting.env}=${n} is out of range ${setting.min}..${setting.max}`);
      return n;
    }
    case 'json': {
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (error) {
        throw new ConfigError(`${setting.env} is not valid JSON: ${(error as Error).message}`);
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        throw new ConfigError(`${setting.env} must be a JSON object, got ${JSON.stringify(raw)}`);
      return Object.freeze(value);
    }
    case 'enum':
      if (!setting.values!.includes(raw)) {
        throw new ConfigError(
          `${setting.env}=${JSON.stringify(raw)} must be one of ${setting.values!.join(', ')}`,
        );
      }
      return raw;
    case 'url-list': {
      const parts = raw
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean);
      if (parts.length === 0) throw new ConfigError(`${setting.env} is set but names no broker`);
      for (const p of parts) {
        if (!/^[A-Za-z0-9_.\-[\]:]+:\d+$/.test(p))
          throw new ConfigError(`${setting.env}: ${JSON.stringify(p)} is not host:port`);
      }
      return Object.freeze(parts);
    }
    case 'steps': {
      const steps = raw.split(',').map((p) => Number(p.trim()));
      const rising = steps.every(
        (x, i) => Number.isFinite(x) && x > 0 && x <= 1 && (i === 0 || x > steps[i - 1]!),
      );
      if (!rising || steps[steps.length - 1] !== 1)
        throw new ConfigError(
          `${setting.env}=${JSON.stringify(raw)} must be shares rising inside (0, 1] and ending at 1, e.g. 0.05,0.25,0.5,1`,
        );
      return Object.freeze(steps);
    }
    case 'api-keys':
      return parseApiKeys(setting.env, raw);
    case 'trust-proxy':
      return parseTrustProxy(setting.env, raw);
    case 'url':
      try {
        new URL(raw);
      } catch {
        throw new ConfigError(`${setting.env}=${JSON.stringify(raw)} is not a URL`);
      }
      return raw;
    default:
      if (name === 'dataDir') return resolve(raw);
      return raw;
  }
}
