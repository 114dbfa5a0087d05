import Foundation

/// Chart series for the monitor: at most two points (the minimum and the maximum) per bucket,
/// at most 250 buckets, so spikes and dips stay visible however long the run is.
///
/// A key's buckets are `width` steps wide, `width` the smallest power of two that fits the
/// run's steps into 250 buckets (a simulated job's planned length, a reported run's latest
/// step), so the width changes only when a growing run doubles. Every bucket before the one
/// holding the latest step is full and never changes: those are kept in memory per (job, key)
/// and each request aggregates only the steps after them. A 100,000-step key costs one scan
/// the first time and a few hundred rows after that. The cache is derived data: every replica
/// builds its own, and nothing is lost when it is dropped. (A client that logs a step far
/// behind its latest one is seen once the entry is rebuilt, after a width change or eviction.)
final class MetricChartCache {
    typealias Points = [(x: Double, y: Double)]

    private struct Key: Hashable {
        var job: Int
        var metric: String
    }

    private struct Entry {
        var width: Int
        var complete: [MetricBucket]
        /// The last step the complete buckets cover.
        var coveredThrough: Int
        var lastUsed: UInt64
    }

    let buckets: Int
    let capacity: Int
    private let lock = NSLock()
    private var entries: [Key: Entry] = [:]
    private var clock: UInt64 = 0

    init(buckets: Int = 250, capacity: Int = 512) {
        self.buckets = buckets
        self.capacity = capacity
    }

    /// The bucket width for a run whose steps reach `span`.
    func width(span: Int) -> Int {
        let needed = max(1, (span + buckets - 1) / buckets)
        var width = 1
        while width < needed { width <<= 1 }
        return width
    }

    /// `key`'s curve against the step, for a job whose `key` has reached `latestStep`.
    func stepSeries(job: TrainingJob, key: String, latestStep: Int, store: MetricStore) throws -> Points {
        let width = width(span: max(job.totalSteps ?? 0, latestStep))
        let latestBucket = latestStep / width
        let cacheKey = Key(job: job.id, metric: key)
        var (cached, covered) = cachedBuckets(cacheKey, width: width)
        let fresh = try store.stepBuckets(job.id, key: key, width: width, after: covered)
        let full = fresh.prefix { $0.firstX / width < latestBucket }
        if !full.isEmpty {
            cached.append(contentsOf: full)
            covered = (full.last!.firstX / width + 1) * width - 1
            remember(cacheKey, Entry(width: width, complete: cached, coveredThrough: covered, lastUsed: 0))
        }
        return Self.points(cached + fresh.dropFirst(full.count), xScale: 1)
    }

    /// `key`'s curve against seconds since `origin` (`?x=time`), aggregated on each request:
    /// the step view is the one kept warm.
    func timeSeries(job: TrainingJob, key: String, origin: Date, latestAt: Date, store: MetricStore) throws -> Points {
        let spanMs = max(1, Int(latestAt.timeIntervalSince(origin) * 1000))
        let width = Int64(width(span: spanMs))
        return Self.points(try store.timeBuckets(job.id, key: key, origin: origin, widthMilliseconds: width), xScale: 0.001)
    }

    private func cachedBuckets(_ key: Key, width: Int) -> ([MetricBucket], Int) {
        lock.lock()
        defer { lock.unlock() }
        guard var entry = entries[key], entry.width == width else { return ([], Int.min) }
        clock += 1
        entry.lastUsed = clock
        entries[key] = entry
        return (entry.complete, entry.coveredThrough)
    }

    private func remember(_ key: Key, _ entry: Entry) {
        lock.lock()
        defer { lock.unlock() }
        clock += 1
        var entry = entry
        entry.lastUsed = clock
        entries[key] = entry
        if entries.count > capacity, let oldest = entries.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
            entries[oldest] = nil
        }
    }

    /// Two points per bucket (one when it holds a single value), in the order the curve
    /// travels, so the line does not zig-zag.
    static func points(_ buckets: [MetricBucket], xScale: Double) -> Points {
        var out: Points = []
        out.reserveCapacity(buckets.count * 2)
        var previous: Double?
        for b in buckets {
            let first = Double(b.firstX) * xScale, last = Double(b.lastX) * xScale
            if b.firstX == b.lastX && b.low == b.high {
                out.append((first, b.low))
                previous = b.low
                continue
            }
            let mid = (b.low + b.high) / 2
            if let previous, mid < previous {
                out.append((first, b.high)); out.append((last, b.low))
            } else {
                out.append((first, b.low)); out.append((last, b.high))
            }
            previous = mid
        }
        return out
    }
}
