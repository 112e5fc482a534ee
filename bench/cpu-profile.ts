/**
 * Where a stretch of work spends the CPU: V8's sampling profiler, started
 * and stopped in this process around the work (`recstream bench …
 * --cpu-profile DIR`), its samples' self time summed by the part of the
 * code they ran in. A part is a project directory two levels deep
 * (`runtime/state`, `processors/item-features`), an npm package, a Node
 * module, or V8's own entries (the garbage collector; `(program)`, native
 * code outside any JS function, such as RocksDB's and the file system's).
 * The `.cpuprofile` file opens in Chrome's DevTools for the call tree.
 *
 * @example
 * ```ts
 * const stats = await cpuProfiled(join(dir, 'features'), () => runner.runUntilCaughtUp());
 * // dir/features.cpuprofile and dir/features.md (the table of parts)
 * ```
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from './results-files.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
}

/** A `.cpuprofile`: nodes of the call tree, and which node each sample was in. */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self time of one part of the code. */
export interface PartTime {
  readonly part: string;
  readonly ms: number;
  readonly share: number;
}

/** The part of the code a frame's script belongs to (see the module comment). */
export function partOf(functionName: string, url: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url;
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf(`${sep}node_modules${sep}`);
  if (modules >= 0) {
    const [scope, name] = path.slice(modules + 14).split(sep);
    return `npm:${scope!.startsWith('@') ? `${scope}/${name}` : scope}`;
  }
  const inProject = relative(PACKAGE_ROOT, path).split(sep);
  if (inProject[0] === '..') return path;
  const parts = inProject[0] === 'dist' ? inProject.slice(1) : inProject;
  return parts.length > 2 ? parts.slice(0, 2).join('/') : parts.join('/');
}

/** Samples' self time by part, largest first. */
export function selfTimeByPart(profile: CpuProfile): PartTime[] {
  const partOfNode = new Map(
    profile.nodes.map((n) => [n.id, partOf(n.callFrame.functionName, n.callFrame.url)]),
  );
  const micros = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const part = partOfNode.get(profile.samples[i]!) ?? '(unknown)';
    const delta = profile.timeDeltas[i] ?? 0;
    micros.set(part, (micros.get(part) ?? 0) + delta);
    total += delta;
  }
  return [...micros]
    .map(([part, us]) => ({ part, ms: us / 1000, share: total > 0 ? us / total : 0 }))
    .sort((a, b) => b.ms - a.ms);
}

/** A markdown table of the parts holding at least `minShare` of the time, the rest summed in one row. */
export function partsTable(title: string, parts: readonly PartTime[], minShare = 0.01): string {
  const shown = parts.filter((p) => p.share >= minShare);
  const rest = parts.filter((p) => p.share < minShare);
  const rows = shown.map((p) => `| \`${p.part}\` | ${p.ms.toFixed(0)} | ${(100 * p.share).toFixed(1)} % |`);
  if (rest.length > 0) {
    const ms = rest.reduce((n, p) => n + p.ms, 0);
    const share = rest.reduce((n, p) => n + p.share, 0);
    rows.push(`| ${rest.length} other parts | ${ms.toFixed(0)} | ${(100 * share).toFixed(1)} % |`);
  }
  return [`### ${title}`, '', '| part | self ms | share |', '|---|---:|---:|', ...rows, ''].join('\n');
}

/**
 * Runs `work` under the sampling profiler; writes `<path>.cpuprofile` and
 * `<path>.md` (its parts table) and returns what `work` returned.
 */
export async function cpuProfiled<T>(path: string, work: () => Promise<T>): Promise<T> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    let result: T;
    try {
      result = await work();
    } finally {
      const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
      await writeFile(`${path}.cpuprofile`, JSON.stringify(profile));
      const name = path.split(sep).at(-1)!;
      await writeFile(`${path}.md`, partsTable(name, selfTimeByPart(profile)));
    }
    return result;
  } finally {
    session.disconnect();
  }
}
