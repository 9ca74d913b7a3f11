"""Statistics for frugal's benchmark reports: medians, spread, geometric means and the
Mann-Whitney U test over repetitions, without third-party packages."""
import math
import statistics
from functools import lru_cache


def median(xs):
    return statistics.median(xs)


def quartiles(xs):
    """Returns the first and third quartiles of `xs` (both the value itself for one value)."""
    if len(xs) < 2:
        return xs[0], xs[0]
    q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    return q1, q3


def spread(xs):
    """Returns half the interquartile range of `xs` relative to its median (0.02 means
    +-2 %): robust to the odd run that a busy machine slows down."""
    m = median(xs)
    if m <= 0 or len(xs) < 2:
        return 0.0
    q1, q3 = quartiles(xs)
    return (q3 - q1) / 2 / m


def geomean(ratios):
    ratios = [r for r in ratios if r and r > 0]
    if not ratios:
        return None
    return math.exp(sum(math.log(r) for r in ratios) / len(ratios))


@lru_cache(maxsize=None)
def _u_counts(m, n):
    """Returns the number of arrangements of m + n distinct values giving each U statistic
    of the first sample, as a tuple indexed by U (0..m*n)."""
    if m == 0 or n == 0:
        return (1,)
    # The largest value belongs either to the first sample (adding n to U) or to the second.
    a = _u_counts(m - 1, n)
    b = _u_counts(m, n - 1)
    out = [0] * (m * n + 1)
    for u, c in enumerate(a):
        out[u + n] += c
    for u, c in enumerate(b):
        out[u] += c
    return tuple(out)


def mann_whitney_u(xs, ys):
    """Returns (U of xs, two-sided p-value) of the Mann-Whitney U test.

    Exact when there are no ties and both samples have at most 20 values; otherwise the
    normal approximation with tie and continuity corrections."""
    m, n = len(xs), len(ys)
    if m == 0 or n == 0:
        raise ValueError("mann_whitney_u: both samples need at least one value")
    pooled = sorted([(v, 0) for v in xs] + [(v, 1) for v in ys])
    ranks = [0.0] * len(pooled)
    tie_term = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        t = j - i + 1
        tie_term += t ** 3 - t
        i = j + 1
    r1 = sum(r for r, (_, g) in zip(ranks, pooled) if g == 0)
    u = r1 - m * (m + 1) / 2
    if tie_term == 0 and m <= 20 and n <= 20:
        counts = _u_counts(m, n)
        total = sum(counts)
        k = int(round(u))
        lower = sum(counts[: k + 1]) / total
        upper = sum(counts[k:]) / total
        return u, min(1.0, 2 * min(lower, upper))
    mu = m * n / 2
    nn = m + n
    var = m * n / 12 * ((nn + 1) - tie_term / (nn * (nn - 1)))
    if var <= 0:
        return u, 1.0
    z = (abs(u - mu) - 0.5) / math.sqrt(var)
    return u, min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2)))
