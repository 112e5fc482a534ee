import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PLATFORM_TOPICS } from '../../schemas/topics.js';
import { ProcessingError } from '../errors.js';
import type { LogRecord } from '../log/log.js';
import { describeUser, useLogHashKey } from '../observability/user-hash.js';
import { deadLetterFor, describeFailure } from './dead-letter.js';

const record = (topic: string, key: string): LogRecord => ({
  topic,
  partition: 0,
  offset: 7,
  timestamp: 1,
  key,
  value: Buffer.from('raw bytes'),
  headers: {},
});

test("a message that quotes a user-keyed record's key is hashed in the dead letter and the log fields; the record stays raw", () => {
  useLogHashKey('dead-letter-test-key-0123456789abcdef');
  const error = new ProcessingError(
    'decoder: unexpected field in record for "user-5e1f-quoted"',
    new Error('avro: bad union in user-5e1f-quoted'),
  );
  const interaction = record('rec.interactions', 'user-5e1f-quoted');
  const letter = deadLetterFor(interaction, error, 'interactions', PLATFORM_TOPICS, 0);
  assert.equal(
    letter.error_message,
    `decoder: unexpected field in record for "${describeUser('user-5e1f-quoted')}"`,
  );
  assert.equal(letter.key, 'user-5e1f-quoted', 'the record keeps its key for a replay');
  assert.deepEqual(letter.value, Buffer.from('raw bytes'));
  const logged = describeFailure(interaction, error, PLATFORM_TOPICS);
  assert.equal(logged.code, 'PROCESSING_FAILED');
  assert.equal(logged.type, 'ProcessingError');
  assert.ok(!logged.stack?.includes('user-5e1f-quoted'), logged.stack);
  assert.ok(!logged.message.includes('user-5e1f-quoted'));
  assert.equal(logged.cause, `avro: bad union in ${describeUser('user-5e1f-quoted')}`);
});

test('on a topic keyed by item the key is left as it is', () => {
  const error = new ProcessingError('rec.items record key "i7" is not its item_id "i8"');
  assert.equal(
    deadLetterFor(record('rec.items', 'i7'), error, 'catalog', PLATFORM_TOPICS, 0).error_message,
    error.message,
  );
});
