/**
 * Counts request handlers still running. A client may hang up mid-request (its socket closes,
 * so the HTTP server considers the connection gone) while the handler still talks to the
 * database; shutdown waits for those handlers before closing the database.
 */
export class InFlight {
  private n = 0;
  private waiters: (() => void)[] = [];

  async track<T>(work: () => Promise<T>): Promise<T> {
    this.n++;
    try {
      return await work();
    } finally {
      this.n--;
      if (this.n === 0) {
        for (const w of this.waiters.splice(0)) w();
      }
    }
  }

  /** Resolves when no handler runs (immediately if none does). */
  drained(): Promise<void> {
    return this.n === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}
