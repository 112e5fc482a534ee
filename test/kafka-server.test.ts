import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mokapiLagMetricRace } from './kafka-server.js';

/** The shape of Go's report when a map is read and written at once: the fatal line, then the goroutine's stack. */
const LAG_METRIC_RACE = [
  'fatal error: concurrent map read and map write',
  '',
  'goroutine 5121 [running]:',
  'mokapi/providers/asyncapi3/kafka/store.(*Store).processMetricsOffsetCommit(0xc0001a2000, {0x1c3e8a0, 0xc000f1e240}, 0xc00043c1e0, {0xc0003b8a80, 0x10}, 0xc0002fe0f0)',
  '\t/build/providers/asyncapi3/kafka/store/offset_commit.go:75 +0x8c',
  'created by mokapi/providers/asyncapi3/kafka/store.(*Store).offsetCommit in goroutine 5098',
].join('\n');

test("go-mokapi's lag-metric race is told apart from any other death of the server", () => {
  assert.equal(
    mokapiLagMetricRace(`time="…" level=warning msg="kafka: …"\n${LAG_METRIC_RACE}`),
    'fatal error: concurrent map read and map write',
  );
  const otherMap = LAG_METRIC_RACE.replaceAll('processMetricsOffsetCommit', 'fetch');
  assert.equal(mokapiLagMetricRace(otherMap), undefined, 'a race elsewhere in the server is a failure');
  const panic =
    'panic: runtime error: slice bounds out of range [:65536] with capacity 65536\n\ngoroutine 77 [running]:';
  assert.equal(mokapiLagMetricRace(panic), undefined);
  assert.equal(mokapiLagMetricRace(''), undefined);
});
