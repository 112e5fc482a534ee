/**
 * What stalled a responder during a measured run, read from its own
 * `/metrics` (runtime/observability/process-metrics.ts): the longest
 * event-loop delay of the run (a scrape just before it resets the
 * window), the same of its ONNX session threads, and the garbage
 * collections of the run by kind — how many, how
 * many paused 50 ms or more, and their total pause. A p99 of hundreds of
 * milliseconds in a run with a major collection is the collector, even
 * when its pause is short: its concurrent marking takes the cores
 * (docs/decisions.md §55); with no major collection and a long loop
 * delay, a long synchronous turn.
 *
 * @example
 * ```ts
 * const window = await StallWindow.open(responder.url);
 * await openRun(...);
 * const stalls = await window.close(); // { loop_max_ms: 312, session_loop_max_ms: 14, gc: { major: { count: 3, over_50ms: 2, pause_ms: 640 } } }
 * ```
 */

/** The run's collections of one kind. */
export interface GcKind {
  readonly count: number;
  readonly over_50ms: number;
  readonly pause_ms: number;
}

export interface Stalls {
  /** The longest event-loop delay of the run, ms (10 ms resolution). */
  readonly loop_max_ms: number;
  /** The same of the ONNX session threads, the longest over them; null where none ran. */
  readonly session_loop_max_ms: number | null;
  readonly gc: Readonly<Record<string, GcKind>>;
}

interface Scrape {
  readonly loopMaxSeconds: number;
  readonly sessionLoopMaxSeconds: number | null;
  /** Per kind: pauses counted, pauses under 50 ms, seconds paused. */
  readonly gc: Map<string, { count: number; under50: number; seconds: number }>;
}

async function scrape(base: string): Promise<Scrape> {
  const response = await fetch(new URL('/metrics', base));
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  const text = await response.text();
  const loop = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text);
  if (loop === null) throw new Error('the responder exports no nodejs_eventloop_lag_max_seconds');
  const gc = new Map<string, { count: number; under50: number; seconds: number }>();
  const kind = (name: string) => {
    const entry = gc.get(name) ?? { count: 0, under50: 0, seconds: 0 };
    gc.set(name, entry);
    return entry;
  };
  for (const m of text.matchAll(/^nodejs_gc_duration_seconds_(bucket|count|sum)\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    const entry = kind(labels.kind ?? 'unknown');
    const value = Number(m[3]);
    if (m[1] === 'count') entry.count = value;
    else if (m[1] === 'sum') entry.seconds = value;
    else if (labels.le === '0.05') entry.under50 = value;
  }
  const session = /^recstream_serve_session_thread_eventloop_lag_seconds\{stat="max"\} (\S+)$/m.exec(text);
  return { loopMaxSeconds: Number(loop[1]), sessionLoopMaxSeconds: session ? Number(session[1]) : null, gc };
}

export class StallWindow {
  private constructor(
    private readonly base: string,
    private readonly before: Scrape,
  ) {}

  /** Scrapes once: the event-loop window starts now, and the collections so far are the baseline. */
  static async open(base: string): Promise<StallWindow> {
    return new StallWindow(base, await scrape(base));
  }

  /** What stalled the responder since `open`. */
  async close(): Promise<Stalls> {
    const after = await scrape(this.base);
    const gc: Record<string, GcKind> = {};
    for (const [name, now] of after.gc) {
      const was = this.before.gc.get(name) ?? { count: 0, under50: 0, seconds: 0 };
      const count = now.count - was.count;
      if (count === 0) continue;
      gc[name] = {
        count,
        over_50ms: count - (now.under50 - was.under50),
        pause_ms: Math.round((now.seconds - was.seconds) * 1000),
      };
    }
    const session = after.sessionLoopMaxSeconds;
    return {
      loop_max_ms: Math.round(after.loopMaxSeconds * 1000),
      session_loop_max_ms: session === null ? null : Math.round(session * 1000),
      gc,
    };
  }
}
