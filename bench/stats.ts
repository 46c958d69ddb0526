/**
 * Small statistics for the benchmark: medians of rounds, percentiles of samples, and
 * round-robin order so no peer always runs first.
 *
 * @example
 * median([3, 1, 2]); // 2
 */

/** The median of `values` (the mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** The `p`th percentile of `values` by linear interpolation between closest ranks; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

/** `items` rotated left by `round` places: round 0 keeps the order, round 1 starts with the second, … */
export function rotate<T>(items: readonly T[], round: number): T[] {
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
