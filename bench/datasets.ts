/**
 * Where the benchmarks look for the public data sets: MovieLens 100K in
 * `ml-100k/` and the HetRec 2011 Last.fm split in `lastfm/` (README,
 * "Importing real data"). `RECSTREAM_BENCH_DATA_DIR` names the folder;
 * unset, `../shared/data` from the directory the bench runs in. A suite
 * skips a data set that is not there.
 *
 * @example
 * ```ts
 * const lastfm = join(BENCH_DATA_DIR, 'lastfm');
 * ```
 */
import { join, resolve } from 'node:path';

export const BENCH_DATA_DIR = resolve(process.env.RECSTREAM_BENCH_DATA_DIR ?? join('..', 'shared', 'data'));
