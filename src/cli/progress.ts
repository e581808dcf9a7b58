/**
 * A progress line on stderr: done/total, records per second and the time left. On a terminal
 * it redraws in place a few times a second; otherwise (CI, a log file) it prints a line every
 * `everySeconds` (5 unless told).
 */
export class Progress {
  private readonly started = performance.now();
  private readonly total: number;
  private readonly enabled: boolean;
  private readonly tty = process.stderr.isTTY;
  private done_ = 0;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private readonly intervalMs: number;

  constructor(total: number, enabled: boolean, everySeconds?: number) {
    this.total = Math.max(total, 0);
    this.enabled = enabled;
    this.intervalMs = this.tty ? 200 : (everySeconds ?? 5) * 1000;
  }

  seconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  tick(n: number): void {
    this.done_ += n;
    const now = performance.now();
    if (this.enabled && now - this.lastDraw >= this.intervalMs) {
      this.lastDraw = now;
      this.draw();
    }
  }

  private draw(): void {
    const s = this.seconds();
    const rate = this.done_ / Math.max(s, 0.001);
    const frac = this.total > 0 ? Math.min(1, this.done_ / this.total) : 0;
    const eta = rate > 0 ? Math.max(0, (this.total - this.done_) / rate) : 0;
    const bar = '#'.repeat(Math.round(frac * 30)).padEnd(30, '.');
    const clock = (x: number): string => `${Math.floor(x / 60)}:${String(Math.floor(x % 60)).padStart(2, '0')}`;
    const line = `[${bar}] ${(frac * 100).toFixed(1)}% ${this.done_.toLocaleString('en')}/${this.total.toLocaleString('en')} ${Math.round(rate).toLocaleString('en')} rec/s ETA ${clock(eta)}`;
    process.stderr.write(this.tty ? `\r${line}` : `${line}\n`);
  }

  done(): void {
    if (!this.enabled) return;
    this.draw();
    if (this.tty) process.stderr.write('\n');
  }
}
