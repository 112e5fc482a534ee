// How the console writes numbers, rates and times.
import { h } from './dom.js';

export const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
export const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

/** A count with thousands separators; `–` when unknown. */
export function count(n) {
  return n === null || n === undefined ? '–' : integer.format(n);
}

/** A per-second rate: one decimal below 10, compact from 10,000; `–` when unknown. */
export function rate(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (n === 0) return '0';
  if (n < 10) return n.toFixed(1);
  return n < 10_000 ? integer.format(n) : compact.format(n);
}

/** How long ago `ts` was, in the largest unit that reads well; a date past 60 days. */
export function ago(ts) {
  const s = Math.round((Date.now() - ts) / 1000);
  if (s < 0) return new Date(ts).toLocaleString();
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h ago`;
  if (s < 60 * 86400) return `${Math.round(s / 86400)} d ago`;
  return new Date(ts).toISOString().slice(0, 10);
}

/** A span saying how long ago `ts` was, the exact time in its title. */
export function when(ts) {
  return h('span', { class: 'when', title: new Date(ts).toISOString() }, ago(ts));
}

/** A process's uptime in seconds, minutes or hours. */
export function formatUptime(s) {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
