/**
 * Progress of long work: a redrawn line with rate and ETA on
 * a terminal, one JSON line per update otherwise (so CI logs and log
 * shippers get structured records, not carriage returns).
 *
 * @example
 * ```ts
 * const progress = new Progress('simulate', 1_000_000);
 * progress.update(done);  // throttled to a few redraws per second
 * progress.done();
 * ```
 */
export class Progress {
  private readonly started = Date.now();
  private lastDraw = 0;
  private current = 0;
  /** Work done before this run (a resumed one): no part of its rate. */
  private baseline = 0;

  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly intervalMs = out.isTTY ? 200 : 2000,
  ) {}

  /** Counts `done` as done before this run: the rate and ETA are of what this run does. */
  resumedAt(done: number): this {
    this.baseline = done;
    this.current = done;
    return this;
  }

  update(current: number, extra: Record<string, string | number> = {}): void {
    this.current = current;
    const now = Date.now();
    if (now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    this.draw(extra, false);
  }

  done(extra: Record<string, string | number> = {}): void {
    this.draw(extra, true);
  }

  private draw(extra: Record<string, string | number>, final: boolean): void {
    const elapsed = (Date.now() - this.started) / 1000;
    const rate = elapsed > 0 ? (this.current - this.baseline) / elapsed : 0;
    const eta =
      this.total !== undefined && rate > 0 ? Math.max(0, (this.total - this.current) / rate) : undefined;
    if (!this.out.isTTY) {
      const record = {
        time: Date.now(),
        msg: 'progress',
        task: this.label,
        done: this.current,
        total: this.total,
        rate_per_s: Math.round(rate),
        eta_s: eta === undefined ? null : Math.round(eta),
        ...extra,
      };
      this.out.write(`${JSON.stringify(record)}\n`);
      return;
    }
    const pct = this.total ? ` ${((100 * this.current) / this.total).toFixed(1).padStart(5)}%` : '';
    const details = Object.entries(extra)
      .map(([k, v]) => ` ${k}=${v}`)
      .join('');
    const line = `${this.label}: ${this.current.toLocaleString('en-US')}${this.total ? `/${this.total.toLocaleString('en-US')}` : ''}${pct}  ${Math.round(rate).toLocaleString('en-US')}/s${eta === undefined || final ? '' : `  ETA ${eta.toFixed(0)}s`}${details}`;
    this.out.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
  }
}

/**
 * A status line for work without an end (the demo's live phase): redrawn
 * in place on a terminal, one JSON record per `jsonEveryMs` otherwise.
 * `clear()` wipes it before other output is printed, so a line printed
 * to stdout never lands in the middle of it; the next `draw` brings it back.
 *
 * @example
 * ```ts
 * const status = new StatusLine('demo');
 * status.draw({ 'events/s': 21, lag: 0, model: 'recstream@2', requests: 5 });
 * ```
 */
export class StatusLine {
  private lastJson = 0;
  private shown = false;

  constructor(
    private readonly label: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly jsonEveryMs = 10_000,
  ) {}

  draw(fields: Record<string, string | number>): void {
    if (this.out.isTTY) {
      const line = Object.entries(fields)
        .map(([k, v]) => `${k} ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`)
        .join('  ');
      this.out.write(`\r\x1b[2K${this.label}: ${line}`);
      this.shown = true;
      return;
    }
    const now = Date.now();
    if (now - this.lastJson < this.jsonEveryMs) return;
    this.lastJson = now;
    this.out.write(`${JSON.stringify({ time: now, msg: 'status', task: this.label, ...fields })}\n`);
  }

  clear(): void {
    if (!this.shown) return;
    this.out.write('\r\x1b[2K');
    this.shown = false;
  }
}
