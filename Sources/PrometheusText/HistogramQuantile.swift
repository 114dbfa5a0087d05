import Foundation

/// Quantiles from classic histogram buckets, computed the way Prometheus's
/// `histogram_quantile()` does (`BucketQuantile` in promql/quantile.go), so that Trainyard's
/// p99 agrees with the one a user gets from their own Prometheus.
public enum HistogramQuantile {
    /// Relative difference between neighbouring cumulative counts below which Prometheus
    /// treats them as equal (floating-point noise from summing many series).
    public static let smallDeltaTolerance = 1e-12

    /// Prometheus `histogram_quantile(q, buckets)`:
    /// - `q` NaN → NaN, `q < 0` → -Inf, `q > 1` → +Inf;
    /// - buckets are sorted by upper bound; without a +Inf bucket → NaN; buckets with the same
    ///   bound are merged (counts added); fewer than 2 buckets left → NaN;
    /// - counts are made monotonic: a count lower than the running maximum takes that maximum,
    ///   and a count within a relative 1e-12 of it (either way) is treated as equal to it;
    /// - total = the +Inf bucket's count; total 0 → NaN; rank = q × total;
    /// - b = the first bucket (not counting +Inf) whose count ≥ rank, else the +Inf bucket;
    /// - b is +Inf → the upper bound of the bucket before it; b is the first bucket and its
    ///   bound ≤ 0 → that bound; otherwise linear interpolation inside b, from the previous
    ///   bound (0 for the first bucket).
    ///
    /// Buckets with a NaN upper bound are ignored (Prometheus would sort them unpredictably);
    /// an empty list gives NaN.
    public static func estimate(_ q: Double, buckets: [(upperBound: Double, count: Double)]) -> Double {
        estimate(q, buckets: buckets.map { BucketCount(upperBound: $0.upperBound, count: $0.count) })
    }

    /// The same for `Increase.buckets`.
    public static func estimate(_ q: Double, buckets input: [BucketCount]) -> Double {
        if q.isNaN { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }

        var buckets = input.filter { !$0.upperBound.isNaN }
        buckets.sort { $0.upperBound < $1.upperBound }
        guard let last = buckets.last, last.upperBound == .infinity else { return .nan }

        buckets = coalesced(buckets)
        ensureMonotonic(&buckets)

        if buckets.count < 2 { return .nan }
        let observations = buckets[buckets.count - 1].count
        if observations == 0 { return .nan }
        var rank = q * observations
        // Go's sort.Search over all buckets but the +Inf one.
        let b = search(buckets.count - 1) { buckets[$0].count >= rank }

        if b == buckets.count - 1 {
            return buckets[buckets.count - 2].upperBound
        }
        if b == 0 && buckets[0].upperBound <= 0 {
            return buckets[0].upperBound
        }
        var bucketStart = 0.0
        let bucketEnd = buckets[b].upperBound
        var count = buckets[b].count
        if b > 0 {
            bucketStart = buckets[b - 1].upperBound
            count -= buckets[b - 1].count
            rank -= buckets[b - 1].count
        }
        return bucketStart + (bucketEnd - bucketStart) * (rank / count)
    }

    /// Merges adjacent buckets with the same bound (input sorted), adding their counts.
    private static func coalesced(_ buckets: [BucketCount]) -> [BucketCount] {
        var result: [BucketCount] = []
        result.reserveCapacity(buckets.count)
        for bucket in buckets {
            if let last = result.last, last.upperBound == bucket.upperBound {
                result[result.count - 1].count += bucket.count
            } else {
                result.append(bucket)
            }
        }
        return result
    }

    /// Prometheus's `ensureMonotonicAndIgnoreSmallDeltas`: `previous` only moves on a real
    /// increase, so every later count is compared with the largest one so far.
    private static func ensureMonotonic(_ buckets: inout [BucketCount]) {
        guard var previous = buckets.first?.count else { return }
        for i in buckets.indices.dropFirst() {
            let current = buckets[i].count
            if current == previous { continue }
            if almostEqual(previous, current, tolerance: smallDeltaTolerance) {
                buckets[i].count = previous
                continue
            }
            if current < previous {
                buckets[i].count = previous
                continue
            }
            previous = current
        }
    }

    /// Prometheus's `almost.Equal` (util/almost), without the stale-marker special case.
    private static func almostEqual(_ a: Double, _ b: Double, tolerance: Double) -> Bool {
        if a.isNaN && b.isNaN { return true }
        if a == b { return true }
        let minNormal = Double.leastNormalMagnitude
        let absSum = abs(a) + abs(b)
        let diff = abs(a - b)
        if a == 0 || b == 0 || absSum < minNormal {
            return diff < tolerance * minNormal
        }
        return diff / min(absSum, .greatestFiniteMagnitude) < tolerance
    }

    /// Go's `sort.Search`: the smallest index in `0..<n` for which `predicate` holds, or `n`.
    private static func search(_ n: Int, _ predicate: (Int) -> Bool) -> Int {
        var low = 0
        var high = n
        while low < high {
            let middle = Int(UInt(low + high) >> 1)
            if !predicate(middle) {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }
}
