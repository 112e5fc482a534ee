// The throughput samples: the counters of each GET /v1/status poll (and the history the
// responder sampled before the page opened), kept for the chart's window, and the rates
// between them.

/** How often the page polls GET /v1/status. */
export const STATUS_POLL_MS = 2000;
/** The longest span of samples kept and charted. */
export const WINDOW_MS = 5 * 60_000;
/** The series of interactions appended to the log, beside the applications' series. */
export const LOG_SERIES = 'rec.interactions (appended)';

/** Polled counters, oldest first: { ts, apps: Map(name → { in, out }), interactions }. */
export const samples = [];
/** When the newest status polled was taken; null before the first. */
let newest = null;

/** The time of the newest status polled, else now. */
export function newestTs() {
  return newest ?? Date.now();
}

/** An application's name as the page shows it: with its namespace unless that is the default. */
export function appName(row) {
  return row.namespace && row.namespace !== 'default'
    ? `${row.application} (${row.namespace})`
    : row.application;
}

/** Per-second change of a counter between two samples; null across a reset or a gap. */
function perSecond(a, b, pick) {
  const x = pick(a);
  const y = pick(b);
  if (x === undefined || y === undefined || y < x) return null;
  return ((y - x) * 1000) / (b.ts - a.ts);
}

/** Puts samples the responder took before the page's first one ahead of the page's own. */
export function addHistory(history) {
  const older = history.samples
    .filter((s) => samples.length === 0 || s.ts < samples[0].ts)
    .map((s) => ({
      ts: s.ts,
      apps: new Map(Object.entries(s.apps)),
      interactions: s.interactions,
    }));
  samples.unshift(...older);
}

/** Adds a GET /v1/status answer's counters of the applications running here; drops what left the window. */
export function addSample(status) {
  newest = status.ts;
  const apps = new Map();
  for (const row of status.applications)
    if (row.running) apps.set(appName(row), { in: row.records_in, out: row.records_out });
  samples.push({ ts: status.ts, apps, interactions: status.log.interactions });
  while (samples.length > 2 && samples[0].ts < status.ts - WINDOW_MS - STATUS_POLL_MS) samples.shift();
}

/** An application's records in and out per second between the last two samples. */
export function latestRates(name) {
  if (samples.length < 2) return { in: null, out: null };
  const [a, b] = samples.slice(-2);
  return {
    in: perSecond(a, b, (s) => s.apps.get(name)?.in),
    out: perSecond(a, b, (s) => s.apps.get(name)?.out),
  };
}

/** Rate series over the window: name → [{ ts, value }]. */
export function series() {
  const out = new Map();
  const names = new Set();
  for (const s of samples) for (const name of s.apps.keys()) names.add(name);
  for (const name of [...names].sort()) out.set(name, []);
  out.set(LOG_SERIES, []);
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    for (const name of names) {
      const value = perSecond(a, b, (s) => s.apps.get(name)?.in);
      if (value !== null) out.get(name).push({ ts: b.ts, value });
    }
    const appended = perSecond(a, b, (s) => s.interactions);
    if (appended !== null) out.get(LOG_SERIES).push({ ts: b.ts, value: appended });
  }
  return out;
}
