import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metric, type RecordedResult } from '../result.js';
import { qualitySummary } from './quality-summary.js';

const TS = '2026-11-26T20:00:00.000Z';

function row(
  name: string,
  value: number,
  config: Record<string, unknown>,
  popularity?: number,
): RecordedResult {
  const ref = popularity === undefined ? undefined : { name: 'popularity', value: popularity };
  return { ...metric('quality', name, value, 'ratio', true, config, ref), ts: TS } as RecordedResult;
}

test('quality summary: one row per data set and model, recstream then item-kNN then popularity', () => {
  const lastfm = { dataset: 'lastfm' };
  const text = qualitySummary([
    row('recall_at_20', 0.1, { ...lastfm, model: 'popularity' }),
    row('ndcg_at_20', 0.12, { ...lastfm, model: 'popularity' }),
    row('recall_at_20', 0.239, { ...lastfm, model: 'item-knn', train_seconds: 2.23 }, 0.1),
    row('ndcg_at_20', 0.245, { ...lastfm, model: 'item-knn' }),
    row('recall_at_10', 0.2, { ...lastfm, model: 'recstream' }, 0.08),
    row('recall_at_20', 0.28, { ...lastfm, model: 'recstream', train_seconds: 500 }, 0.1),
  ]);
  assert.deepEqual(text?.split('\n'), [
    '| data set | model | Recall@20 | NDCG@20 | vs popularity | train seconds | measured |',
    '|---|---|---|---|---|---|---|',
    '| lastfm | recstream | 0.28 |  | ×2.8 | 500 | 2026-11-26 |',
    '| lastfm | item-knn | 0.239 | 0.245 | ×2.39 | 2.2 | 2026-11-26 |',
    '| lastfm | popularity | 0.1 | 0.12 |  |  | 2026-11-26 |',
  ]);
  assert.equal(qualitySummary([row('ranker_auc', 0.7, lastfm)]), undefined);
});
