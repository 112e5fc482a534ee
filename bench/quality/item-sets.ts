/**
 * Per-user item sets read from the public data sets' files: what a user
 * interacted with in training (left out of their list) or holds out for
 * the test.
 *
 * @example
 * ```ts
 * const holdout = await readLines('lastfm/test.txt');
 * holdout.get('0')?.has('42');
 * ```
 */
import { readFile } from 'node:fs/promises';

export type ItemSets = Map<string, Set<string>>;

export function addTo(sets: ItemSets, user: string, item: string): void {
  let set = sets.get(user);
  if (!set) {
    set = new Set();
    sets.set(user, set);
  }
  set.add(item);
}

/** `user item item …` lines into per-user item sets. */
export async function readLines(path: string, into: ItemSets = new Map()): Promise<ItemSets> {
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    const [user, ...items] = line.trim().split(/\s+/);
    if (!user) continue;
    for (const item of items) addTo(into, user, item);
  }
  return into;
}

/** MovieLens `user\titem\trating\tts` lines into per-user item sets, and the latest time in ms. */
export async function readRatings(path: string): Promise<{ sets: ItemSets; maxTs: number }> {
  const sets: ItemSets = new Map();
  let maxTs = 0;
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    const [user, item, , ts] = line.trim().split('\t');
    if (!user || !item) continue;
    addTo(sets, user, item);
    maxTs = Math.max(maxTs, Number(ts) * 1000);
  }
  return { sets, maxTs };
}
