/**
 * Progress of long work (DESIGN.md §7): a redrawn line with rate and ETA on
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

  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly intervalMs = out.isTTY ? 200 : 2000,
  ) {}

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
    const rate = elapsed > 0 ? this.current / elapsed : 0;
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
