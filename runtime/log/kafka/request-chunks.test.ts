import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from 'kafkajs';
import { messageBytes, requestChunks } from './request-chunks.js';

test('chunks keep the messages in order and each stays within the budget', () => {
  const messages: Message[] = Array.from({ length: 500 }, (_, i) => ({
    key: `user-${i}`,
    value: Buffer.alloc(100 + (i % 7) * 300),
    partition: i % 3,
    headers: i % 5 === 0 ? { trace: 'x'.repeat(i % 40) } : undefined,
  }));
  const budget = 20_000;
  const chunks = requestChunks(messages, 'rec.training-examples', budget);
  assert.ok(chunks.length > 1);
  assert.deepEqual(chunks.flat(), messages);
  for (const chunk of chunks) {
    const partitions = new Set(chunk.map((m) => m.partition)).size;
    const bytes =
      128 +
      'rec.training-examples'.length +
      partitions * 128 +
      chunk.reduce((n, m) => n + messageBytes(m), 0);
    assert.ok(bytes <= budget, `a chunk of ${bytes} bytes`);
  }
});

test('a message over the budget travels alone; a small append is one request', () => {
  const big: Message = { key: 'k', value: Buffer.alloc(5000), partition: 0 };
  const small: Message = { key: 'k', value: Buffer.alloc(10), partition: 0 };
  assert.deepEqual(requestChunks([small, big, small], 't', 1000), [[small], [big], [small]]);
  assert.deepEqual(requestChunks([small, small], 't', 1000), [[small, small]]);
  assert.deepEqual(requestChunks([], 't', 1000), []);
});
