// Two-sample statistics for timing tests on a shared, noisy machine: distribution-free, so they need no
// assumption about the shape of scheduler noise, only that both samples met the same noise (draw them
// interleaved).

/** The two-sample Kolmogorov–Smirnov statistic: the largest gap between the empirical distribution
 *  functions of `a` and `b` (0: indistinguishable, 1: disjoint). */
export function ksStatistic(a: readonly number[], b: readonly number[]): number {
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let gap = 0;
  while (i < x.length && j < y.length) {
    const value = Math.min(x[i] as number, y[j] as number);
    while (i < x.length && (x[i] as number) <= value) i++;
    while (j < y.length && (y[j] as number) <= value) j++;
    gap = Math.max(gap, Math.abs(i / x.length - j / y.length));
  }
  return gap;
}

/** The statistic above which two samples of sizes n and m come from different distributions, at
 *  significance `alpha` (asymptotic: c(α)·√((n+m)/(n·m)), c(α) = √(−ln(α/2)/2)). */
export function ksCritical(n: number, m: number, alpha: number): number {
  return Math.sqrt(-Math.log(alpha / 2) / 2) * Math.sqrt((n + m) / (n * m));
}

export function quantile(sample: readonly number[], q: number): number {
  const sorted = [...sample].sort((p, r) => p - r);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
