import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wordCount } from '../word-count.fixture.js';
import { endOfInputStages } from './end-of-input-stages.js';

test('end-of-input stages: a reader of an internal topic ends after the topic’s writers', () => {
  // split reads rec.lines (input) and writes rec.words-by-word, which count reads.
  assert.deepEqual(Object.fromEntries(endOfInputStages(wordCount())), { split: 0, count: 1 });
});
