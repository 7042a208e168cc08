/**
 * Spans kept flat: `start₀, end₀, start₁, end₁, …` in one growable Int32Array,
 * no object per span. Segmentation writes a completion's steps here (shape()
 * segments a whole request into one buffer) and the token mapping reads them
 * in place. Offsets into a string fit an int32 (a string is shorter than 2³¹).
 */
export class SpanBuffer {
  /** The spans' bounds: span i is [data[2i], data[2i + 1]). Replaced by a larger array when it fills up. */
  data: Int32Array;
  /** The number of spans held. */
  count = 0;

  constructor(capacity = 64) {
    this.data = new Int32Array(2 * Math.max(1, capacity));
  }

  push(start: number, end: number): void {
    const i = 2 * this.count;
    if (i + 2 > this.data.length) this.grow();
    this.data[i] = start;
    this.data[i + 1] = end;
    this.count++;
  }

  start(i: number): number {
    return this.data[2 * i];
  }

  end(i: number): number {
    return this.data[2 * i + 1];
  }

  /** Keeps the first n spans. */
  truncate(n: number): void {
    this.count = n;
  }

  /**
   * Spans from…from + n − 1 as a flat Int32Array sharing this buffer's memory (no copy). It stays valid while no
   * span before from + n is rewritten; a later push that grows the buffer leaves it on the old memory, intact.
   */
  view(from: number, n: number): Int32Array {
    return new Int32Array(this.data.buffer, 8 * from, 2 * n);
  }

  private grow(): void {
    const next = new Int32Array(2 * this.data.length);
    next.set(this.data);
    this.data = next;
  }
}
