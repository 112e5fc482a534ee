/**
 * Canaries on a live stream, end to end on the embedded default: closed-loop
 * users of the served world ask a real responder for lists and react by
 * their true preferences while the experiment-metrics application follows
 * the served lists and interactions. A candidate trained badly (dimension
 * 2, one epoch, a learning rate too small to learn anything) is rolled back
 * by itself at its first step, with every request answered. It also runs
 * on the Kafka-protocol server (`canary.kafka.test.ts`); a good candidate's
 * promotion is `canary-promote.e2e.test.ts`, a file of its own since each
 * canary now waits for its minimum sample per arm, and the two no longer
 * fit one file's 15 minutes on two cores.
 */
import { test } from 'node:test';
import { type LiveCanary, liveCanaryForFile, rollOutBadCandidate } from '../../test/live-canary.js';

let live: LiveCanary;
liveCanaryForFile('recstream-canary-e2e-', (started) => {
  live = started;
});

test('a bad candidate is rolled back by itself at its first step, with every request answered', {
  timeout: 600_000,
}, async () => {
  console.log(`bad canary: ${await rollOutBadCandidate(live, 2)}`);
});
