import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Vocabulary, VocabularyBuilder } from './vocabulary.js';

test('a frozen vocabulary sorts its values; unknown and missing values are 0', () => {
  const builder = new VocabularyBuilder('<unk>');
  const provisional = ['c', 'a', 'b'].map((v) => builder.intern(v));
  const { values, remap } = builder.freeze();
  assert.deepEqual(values, ['<unk>', 'a', 'b', 'c']);
  assert.deepEqual(
    provisional.map((p) => values[remap[p]!]),
    ['c', 'a', 'b'],
  );
  const vocabulary = new Vocabulary(values);
  assert.equal(vocabulary.get('b'), 2);
  assert.equal(vocabulary.get('zz'), 0);
  assert.equal(vocabulary.get(null), 0);
  assert.equal(vocabulary.get('<unk>'), 0);
});

test('a vocabulary built in slices pauses between them and answers as one built at once', async () => {
  const values = ['<unk>', ...Array.from({ length: 5_000 }, (_, i) => `i${String(i).padStart(5, '0')}`)];
  let pauses = 0;
  const built = await Vocabulary.build(values, async () => {
    pauses++;
  });
  assert.equal(pauses, 2, 'one pause after each full slice of 2,048');
  const whole = new Vocabulary(values);
  for (const value of ['i00000', 'i02047', 'i02048', 'i04999', 'nope', '<unk>'])
    assert.equal(built.get(value), whole.get(value), value);
  assert.equal(built.size, 5_001);
});
