/** A low and a high bound. */
export type Interval = [number, number];

/** Of the figures that are numbers (NaN: none); NaN when there are none. */
export function median(numbers: number[]): number {
  const sorted = numbers.filter((number) => !Number.isNaN(number)).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * The 95% percentile bootstrap interval of `statistic`, over rows resampled with
 * replacement: a row holds one round's paired figures, and the statistic gets
 * them back as columns. Seeded, so that one set of samples always gives one interval.
 */
export function bootstrapInterval(rows: number[][], statistic: (columns: number[][]) => number, resamples = 2000): Interval {
  const random = seededRandom(0x9e3779b9);
  const width = rows[0]?.length ?? 0;
  const estimates: number[] = [];
  for (let i = 0; i < resamples; i++) {
    const columns = Array.from({ length: width }, () => new Array<number>(rows.length));
    for (let r = 0; r < rows.length; r++) {
      const row = rows[Math.floor(random() * rows.length)];
      for (let c = 0; c < width; c++) columns[c][r] = row[c];
    }
    const estimate = statistic(columns);
    if (Number.isFinite(estimate)) estimates.push(estimate);
  }
  estimates.sort((a, b) => a - b);
  // A statistic that is rarely finite (a ratio over a difference near 0) has no interval.
  if (estimates.length < resamples * 0.95) return [-Infinity, Infinity];
  return [estimates[Math.floor(estimates.length * 0.025)], estimates[Math.ceil(estimates.length * 0.975) - 1]];
}

/** mulberry32. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
