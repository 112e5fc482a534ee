import assert from 'node:assert/strict';
import { test } from 'node:test';
import { experimentFromJson } from '../registry/experiments/validate-experiment.js';
import { renderExperiment, renderFigures, renderList } from './experiment-tables.js';

const experiment = experimentFromJson(
  {
    id: 'canary-recstream-3',
    description: 'canary of recstream v3 against the promoted v2',
    salt: '9f2a',
    variants: [
      { name: 'candidate', model: 'recstream@3', share: 0.25 },
      { name: 'control', model: 'promoted', share: 0.75 },
      { name: 'shadow', model: 'recstream@4', shadow: true },
    ],
    guardrails: [{ metric: 'ctr', tolerance: 0.05 }],
    canary: { candidate: 'candidate', steps: [0.05, 0.25, 0.5, 1], step: 1 },
  },
  Date.UTC(2026, 10, 26, 12),
);

test("the figures table: one row per variant, ctr with its interval, counts grouped, '-' where nothing is known", () => {
  const text = renderFigures(experiment, {
    candidate: {
      requests: 1234,
      impressions: 12340,
      clicks: 679,
      ctr: 0.055024,
      ctr_ci: [0.0503, 0.0601],
      engaged_ms_per_request: 2345,
      fallback_rate: 0.0121,
      latency_p99_ms: 11.04,
      control: false,
      verdict: 'better (p < 0.05)',
    },
    control: {
      requests: 3702,
      impressions: 37020,
      clicks: 1740,
      ctr: 0.047,
      ctr_ci: null,
      engaged_ms_per_request: 0,
      fallback_rate: 0,
      latency_p99_ms: null,
      control: true,
      verdict: null,
    },
  });
  assert.equal(
    text,
    [
      'variant    model        share   requests  impressions  clicks  ctr [interval]        engaged s/req  fallback  p99 ms  verdict',
      'candidate  recstream@3  25%     1,234     12,340       679     5.50% [5.03%, 6.01%]  2.35           1.21%     11.0    better (p < 0.05)',
      'control    promoted     75%     3,702     37,020       1,740   4.70%                 0.00           0.00%     -       (control)',
      'shadow     recstream@4  shadow  -         -            -       -                     -              -         -       -',
      '',
    ].join('\n'),
  );
  const empty = renderFigures(experiment, {
    candidate: {
      requests: 3,
      impressions: 0,
      clicks: 0,
      ctr: null,
      ctr_ci: null,
      engaged_ms_per_request: 0,
      fallback_rate: 1,
      latency_p99_ms: 4,
      control: false,
      verdict: null,
    },
  });
  assert.match(empty, /^candidate\s+recstream@3\s+25%\s+3\s+0\s+0\s+-\s+0\.00\s+100\.00%\s+4\.0\s+-$/m);
});

test('the experiment and the list say status, slice, variants, guardrails and the canary step', () => {
  const shown = renderExperiment(experiment);
  assert.match(shown, /^canary-recstream-3 {2}running$/m);
  assert.match(shown, /traffic \[0, 1\) {2}salt 9f2a {2}primary metric ctr/);
  assert.match(shown, /guardrails ctr ±0\.05/);
  assert.match(
    shown,
    /canary candidate: steps 5% → 25% → 50% → 100%, at 25% since 2026-11-26T12:00:00\.000Z/,
  );
  const list = renderList([experiment, { ...experiment, id: 'old', status: 'stopped', traffic_end: 0.5 }]);
  assert.match(
    list,
    /^canary-recstream-3\s+running\s+candidate recstream@3 25% · control promoted 75% · shadow recstream@4 shadow\s+\[0, 1\)\s+2026-11-26T12:00:00\.000Z$/m,
  );
  assert.match(list, /^old\s+stopped\s+.*\[0, 0\.5\)/m);
  assert.match(renderList([]), /no experiments yet/);
});
