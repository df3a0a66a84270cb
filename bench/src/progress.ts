/**
 * Progress on stderr while the suite runs: scenario k of n, the scenario's own step ("ours run 3/7"),
 * elapsed time. On a terminal one line is rewritten in place (and refreshed every second so the
 * clock moves during long runs); elsewhere (CI logs, pipes) each step is one line.
 */
export class ProgressDisplay {
  private readonly tty: boolean;
  private line = '';
  private scenarioStarted = 0;
  private readonly suiteStarted = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private head = '';
  private step = '';

  constructor(private readonly out: NodeJS.WriteStream = process.stderr, private readonly enabled = true) {
    this.tty = Boolean(out.isTTY);
  }

  private elapsed(): string {
    const s = (performance.now() - this.scenarioStarted) / 1000;
    const total = (performance.now() - this.suiteStarted) / 1000;
    return `${s.toFixed(1)} s (suite ${total.toFixed(0)} s)`;
  }

  private render(): void {
    if (!this.enabled) return;
    const text = `${this.head}${this.step ? ` · ${this.step}` : ''} · ${this.elapsed()}`;
    if (this.tty) {
      const cols = this.out.columns || 120;
      const clipped = text.length > cols - 1 ? `${text.slice(0, cols - 2)}…` : text;
      this.out.write(`\r\x1b[2K${clipped}`);
      this.line = clipped;
    } else {
      this.out.write(`${text}\n`);
    }
  }

  startScenario(index: number, count: number, id: string, title: string): void {
    this.scenarioStarted = performance.now();
    this.head = `[${index}/${count}] ${id} ${title.length > 60 ? `${title.slice(0, 59)}…` : title}`;
    this.step = 'starting';
    this.render();
    if (this.tty && this.enabled && !this.timer) {
      this.timer = setInterval(() => this.render(), 1000);
      this.timer.unref();
    }
  }

  update(step: number, total: number, label: string): void {
    this.step = `step ${step}/${total}: ${label}`;
    this.render();
  }

  /** Ends the live line and prints a permanent one (the scenario's verdict). */
  finish(summary: string): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    if (!this.enabled) return;
    if (this.tty && this.line) this.out.write('\r\x1b[2K');
    this.line = '';
    this.out.write(`${summary}\n`);
  }

  /** Prints a line without disturbing the live one. */
  note(text: string): void {
    if (!this.enabled) return;
    if (this.tty && this.line) this.out.write('\r\x1b[2K');
    this.out.write(`${text}\n`);
    if (this.tty && this.line) this.render();
  }
}
