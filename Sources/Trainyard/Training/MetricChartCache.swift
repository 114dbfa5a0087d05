import Foundation

/// Chart series for the monitor: at most two points (the minimum and the maximum) per bucket,
/// so spikes and dips stay visible however long the job runs.
///
/// Buckets are fixed by the job's total steps, and metrics are append-only, so a bucket that is
/// full never changes. Full buckets are kept in memory per job; each request aggregates only
/// the steps after the last full bucket. A 100,000-step job costs one scan the first time its
/// monitor is shown and a few hundred rows after that. The cache is derived data: every
/// replica builds its own, and nothing is lost when it is dropped.
final class MetricChartCache {
    struct Bucket {
        var firstStep: Int
        var lastStep: Int
        var lossLow: Double, lossHigh: Double
        var accuracyLow: Double, accuracyHigh: Double
    }

    struct Series {
        var loss: [(step: Int, value: Double)]
        var accuracy: [(step: Int, value: Double)]
    }

    private struct Entry {
        var width: Int
        var complete: [Bucket]
        var lastUsed: UInt64
    }

    let buckets: Int
    let capacity: Int
    private let lock = NSLock()
    private var entries: [Int: Entry] = [:]
    private var clock: UInt64 = 0

    init(buckets: Int = 250, capacity: Int = 128) {
        self.buckets = buckets
        self.capacity = capacity
    }

    func series(for job: TrainingJob, store: JobStore) throws -> Series {
        guard job.currentStep > 0 else { return Series(loss: [], accuracy: []) }
        // Short jobs are drawn point by point.
        if job.totalSteps <= buckets * 2 {
            let points = try store.allPoints(job.id)
            return Series(loss: points.map { ($0.step, $0.loss) }, accuracy: points.map { ($0.step, $0.accuracy) })
        }

        let width = (job.totalSteps + buckets - 1) / buckets
        var cached = cachedBuckets(job.id, width: width)
        let fresh = try store.metricBuckets(job.id, width: width, after: cached.last?.lastStep ?? 0)
        // A bucket is final once its last step is written (or the job's last step).
        let finalCount = fresh.prefix { bucket in
            bucket.lastStep == min(((bucket.lastStep - 1) / width + 1) * width, job.totalSteps)
                && bucket.lastStep - bucket.firstStep + 1 == min(width, job.totalSteps - (bucket.lastStep - 1) / width * width)
        }.count
        cached.append(contentsOf: fresh.prefix(finalCount))
        remember(job.id, width: width, complete: cached)
        return Self.points(cached + fresh.dropFirst(finalCount))
    }

    private func cachedBuckets(_ jobID: Int, width: Int) -> [Bucket] {
        lock.lock()
        defer { lock.unlock() }
        guard var entry = entries[jobID], entry.width == width else { return [] }
        clock += 1
        entry.lastUsed = clock
        entries[jobID] = entry
        return entry.complete
    }

    private func remember(_ jobID: Int, width: Int, complete: [Bucket]) {
        lock.lock()
        defer { lock.unlock() }
        clock += 1
        entries[jobID] = Entry(width: width, complete: complete, lastUsed: clock)
        if entries.count > capacity, let oldest = entries.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
            entries[oldest] = nil
        }
    }

    /// Two points per bucket, in the order the curve travels, so the line does not zig-zag.
    static func points(_ buckets: [Bucket]) -> Series {
        var loss: [(Int, Double)] = [], accuracy: [(Int, Double)] = []
        loss.reserveCapacity(buckets.count * 2)
        accuracy.reserveCapacity(buckets.count * 2)
        var previousLoss: Double?, previousAccuracy: Double?
        for b in buckets {
            let lossMid = (b.lossLow + b.lossHigh) / 2
            if let previousLoss, lossMid < previousLoss {
                loss.append((b.firstStep, b.lossHigh)); loss.append((b.lastStep, b.lossLow))
            } else {
                loss.append((b.firstStep, b.lossLow)); loss.append((b.lastStep, b.lossHigh))
            }
            previousLoss = lossMid
            let accuracyMid = (b.accuracyLow + b.accuracyHigh) / 2
            if let previousAccuracy, accuracyMid < previousAccuracy {
                accuracy.append((b.firstStep, b.accuracyHigh)); accuracy.append((b.lastStep, b.accuracyLow))
            } else {
                accuracy.append((b.firstStep, b.accuracyLow)); accuracy.append((b.lastStep, b.accuracyHigh))
            }
            previousAccuracy = accuracyMid
        }
        return Series(loss: loss, accuracy: accuracy)
    }
}
