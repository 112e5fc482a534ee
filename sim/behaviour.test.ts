/**
 * The simulator's behaviour, checked by statistics that a generator without
 * behaviour fails: every check runs on the simulator's events and on
 * uniformly random events of the same size, and must tell them apart.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Interaction } from '../schemas/generated/types.js';
import { Simulator } from './simulator.js';
import { burstiness, countBy, giniOf, localHourHistogram, topShare, uniformEvents } from './testing.js';
import { GroundTruth } from './truth.js';

const USERS = 3000;
const ITEMS = 800;
const EVENTS = 200_000;
const sim = new Simulator({ seed: 3, users: USERS, items: ITEMS, events: EVENTS, days: 28 });
const simulated: Interaction[] = [];
for (const r of sim.records()) if (r.topic === 'rec.interactions') simulated.push(r.value);
const { start, spanMs } = sim.world.options;
const uniform = uniformEvents({ seed: 3, users: USERS, items: ITEMS, events: EVENTS, start, spanMs });

function longTailed(events: readonly Interaction[]): boolean {
  const byItem = countBy(events, (e) => e.item_id);
  return giniOf(byItem, ITEMS) > 0.5 && topShare(byItem, ITEMS, 0.1) > 0.4;
}

function bursty(events: readonly Interaction[]): boolean {
  return burstiness(events) > 0.4;
}

function diurnal(events: readonly Interaction[]): boolean {
  const hours = localHourHistogram(events);
  const peak = hours.indexOf(Math.max(...hours));
  // An evening peak at least four times the small hours.
  return Math.max(...hours) > 4 * Math.min(...hours) && peak >= 18 && peak <= 23;
}

function weekly(events: readonly Interaction[]): boolean {
  const days = new Array<number>(7).fill(0);
  for (const e of events) days[(Math.floor(e.ts / 86_400_000) + 3) % 7]!++;
  const weekend = (days[5]! + days[6]!) / 2;
  const weekdays = days.slice(0, 5).reduce((s, d) => s + d, 0) / 5;
  return weekend > 1.1 * weekdays;
}

test('popularity is long-tailed: a tenth of the items draw most of the interactions', () => {
  assert.ok(longTailed(simulated));
  assert.ok(!longTailed(uniform), 'uniform events must not pass');
  const byUser = countBy(simulated, (e) => e.user_id);
  assert.ok(giniOf(byUser, USERS) > 0.5, 'activity is heavy-tailed across users too');
});

test('events come in sessions: gaps within a visit are short, between visits long', () => {
  assert.ok(bursty(simulated), `burstiness ${burstiness(simulated).toFixed(2)}`);
  assert.ok(!bursty(uniform), `uniform burstiness ${burstiness(uniform).toFixed(2)}`);
  const perSession = simulated.length / new Set(simulated.map((e) => e.context.session_id)).size;
  assert.ok(perSession > 5, `${perSession.toFixed(1)} events per session`);
});

test('the daily rhythm is visible in local time, peaking in the evening', () => {
  assert.ok(diurnal(simulated), `local hours ${localHourHistogram(simulated).join(',')}`);
  assert.ok(!diurnal(uniform));
});

test('weekends are busier than weekdays', () => {
  assert.ok(weekly(simulated));
  assert.ok(!weekly(uniform));
});

test('choices follow true preference: users click what they like more than what they are shown', () => {
  const truth = new GroundTruth(sim.world);
  const mean = (events: readonly Interaction[], type: Interaction['type']) => {
    const picked = events.filter((e) => e.type === type).slice(0, 3000);
    return picked.reduce((s, e) => s + truth.preference(e.user_id, e.item_id, e.ts), 0) / picked.length;
  };
  const advantage = (events: readonly Interaction[]) => mean(events, 'click') - mean(events, 'impression');
  assert.ok(advantage(simulated) > 0.4, `clicked items are preferred by ${advantage(simulated).toFixed(2)}`);
  assert.ok(advantage(uniform) < 0.1, `uniform: ${advantage(uniform).toFixed(2)}`);
});

test('position bias: the first slot of a slate is clicked more than the last', () => {
  const clicksAt = new Array<number>(6).fill(0);
  let slate: string[] = [];
  let slateKey = '';
  for (const e of simulated) {
    const key = `${e.context.session_id}/${e.ts}`;
    if (e.type === 'impression') {
      if (key !== slateKey) slate = [];
      slateKey = key;
      slate.push(e.item_id);
    } else if (e.type === 'click' && e.context.surface === 'home' && slate.length === 6) {
      const at = slate.indexOf(e.item_id);
      if (at >= 0) clicksAt[at]!++;
    }
  }
  assert.ok(clicksAt[0]! > 1.3 * clicksAt[5]!, `clicks by position ${clicksAt.join(',')}`);
});

test('tastes drift: late clicks of drifting users fit their late taste better than their early one', () => {
  const { population } = sim.world;
  const late = start + spanMs * 0.75;
  let early = 0;
  let now = 0;
  let n = 0;
  for (const e of simulated) {
    if (e.type !== 'click' || e.ts < late) continue;
    const profile = population.profile(Number(e.user_id.slice(1)));
    const model = population.tasteModel(profile);
    if (model.drift === null) continue;
    const item = Number(e.item_id.slice(1));
    early += sim.world.preference(profile, population.taste(model, start), item);
    now += sim.world.preference(profile, population.taste(model, e.ts), item);
    n++;
  }
  assert.ok(n > 200, `${n} late clicks by drifting users`);
  assert.ok(
    now / n > early / n + 0.05,
    `late taste ${(now / n).toFixed(3)} vs start taste ${(early / n).toFixed(3)}`,
  );
});
