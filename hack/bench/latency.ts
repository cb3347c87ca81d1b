// Latency figures from raw samples. Percentiles use the nearest-rank method: the reported value is one
// that was actually observed, never an interpolation between two.

export interface LatencySummary {
  count: number;
  /** Milliseconds; null when there were no samples. */
  p50: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** The nearest-rank `p`th percentile (0 < p <= 100) of ascending `sorted`; undefined when it is empty. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside (0, 100]`);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1];
}

export function summarize(samples: readonly number[]): LatencySummary {
  const values = [...samples].sort((a, b) => a - b);
  const sum = values.reduce((a, b) => a + b, 0);
  return {
    count: values.length,
    p50: percentile(values, 50) ?? null,
    p99: percentile(values, 99) ?? null,
    max: values.at(-1) ?? null,
    mean: values.length > 0 ? sum / values.length : null,
  };
}
