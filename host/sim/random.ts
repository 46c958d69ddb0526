/**
 * A small seeded pseudo-random generator (mulberry32) for the simulator: the same seed
 * gives the same sequence on every machine, so a simulated week can be replayed exactly.
 * Not for cryptography.
 *
 * @example
 * const root = new Random(42);
 * const air = root.fork("device-1/air");   // an independent stream per component
 * air.normal();                            // a standard normal sample
 * air.floatAt(17);                         // the float at index 17, without drawing
 */

/** mulberry32's state increment (Weyl sequence). */
const INCREMENT = 0x6d2b79f5;

/** A reproducible stream of random numbers. */
export class Random {
  /** The seed as a u32. */
  readonly seed: number;
  private state: number;

  /** `seed` is taken modulo 2^32. */
  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.state = this.seed;
  }

  /** The next u32 of the stream. */
  next(): number {
    this.state = (this.state + INCREMENT) >>> 0;
    return mix(this.state);
  }

  /** The next number in [0, 1). */
  float(): number {
    return this.next() / 2 ** 32;
  }

  /** The next standard normal sample (Box–Muller, two draws per call). */
  normal(): number {
    return boxMuller(this.float(), this.float());
  }

  /**
   * The float in [0, 1) at position `index` (an integer) of the stream: what the
   * (index + 1)-th `float()` of a fresh generator returns, without drawing. Models that must
   * give the same value for a time whatever order they are asked in use it.
   */
  floatAt(index: number): number {
    return mix((this.seed + Math.imul(index + 1, INCREMENT)) >>> 0) / 2 ** 32;
  }

  /** The standard normal sample at position `index` (uses floatAt(2·index) and floatAt(2·index + 1)). */
  normalAt(index: number): number {
    return boxMuller(this.floatAt(2 * index), this.floatAt(2 * index + 1));
  }

  /**
   * An independent stream named `label`, derived from this stream's seed only: forking the
   * same label twice gives the same stream, whatever was drawn in between.
   */
  fork(label: string): Random {
    return new Random(mix((this.seed ^ hashLabel(label)) >>> 0));
  }
}

/** A standard normal sample from two uniforms in [0, 1). */
function boxMuller(first: number, second: number): number {
  const u = 1 - first; // (0, 1]: keeps log() finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * second);
}

/** The mulberry32 output function: scrambles a u32. */
function mix(value: number): number {
  let t = value;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

/** FNV-1a over the label's UTF-16 code units. */
function hashLabel(label: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) hash = Math.imul(hash ^ label.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
