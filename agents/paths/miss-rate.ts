// How often a path loses a packet at random: a decaying count of expected and missed packets,
// pure. The path monitor asks for more misses in a row before DOWN on a path that loses packets
// anyway (as the loss timeout follows the RTT), and feeds it only misses that turned out random
// (the path stayed up), never a cut.

export class MissRate {
  private expected = 0;
  private missed = 0;
  private readonly keep: number;

  /**
   * @param span about how many recent packets the rate covers
   * @param prior packets assumed besides them, lost at `priorRate`: a young estimate is neither
   *   one loss in ten after one early loss, nor zero before the first
   */
  constructor(
    readonly span = 1024,
    readonly prior = 64,
    readonly priorRate = 1e-3,
  ) {
    this.keep = 1 - 1 / span;
  }

  /** `expected` packets were due, `missed` of them did not come. */
  add(expected: number, missed: number): void {
    if (!Number.isFinite(expected) || !Number.isFinite(missed)) return;
    const n = Math.min(this.span, Math.max(0, Math.floor(expected)));
    if (n === 0) return;
    const lost = Math.min(n, Math.max(0, Math.floor(missed)));
    const decay = this.keep ** n;
    this.expected = this.expected * decay + n;
    this.missed = this.missed * decay + lost;
  }

  /** Missed / expected, 0..1. */
  rate(): number {
    return (this.missed + this.prior * this.priorRate) / (this.expected + this.prior);
  }
}
