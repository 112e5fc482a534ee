/**
 * Helpers shared by the embedded log's tests: scratch directories and a
 * logger that records warnings instead of printing them.
 *
 * @example
 * ```ts
 * const { dir, cleanup } = await scratchDir();
 * const logger = captureLogger();
 * const log = await EmbeddedLog.open(dir, { logger });
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogWarnSink } from './options.js';

export async function scratchDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-log-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface CapturedWarning {
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

export function captureLogger(): LogWarnSink & { readonly warnings: CapturedWarning[] } {
  const warnings: CapturedWarning[] = [];
  return { warnings, warn: (fields, message) => warnings.push({ fields, message }) };
}
