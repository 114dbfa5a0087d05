import Foundation
import Storage

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

    func series(for job: TrainingJob, database: Database) throws -> Series {
        guard job.currentStep > 0 else { return Series(loss: [], accuracy: []) }
        // Short jobs are drawn point by point.
        if job.totalSteps <= buckets * 2 {
            let rows = try database.query("SELECT step, loss, accuracy FROM training_metrics WHERE job_id = $1 ORDER BY step",
                                          [.int(Int64(job.id))])
            var loss: [(Int, Double)] = [], accuracy: [(Int, Double)] = []
            loss.reserveCapacity(rows.count)
            accuracy.reserveCapacity(rows.count)
            for row in rows {
                let step = try row.int("step")
                loss.append((step, try row.double("loss")))
                accuracy.append((step, try row.double("accuracy")))
            }
            return Series(loss: loss, accuracy: accuracy)
        }

        let width = (job.totalSteps + buckets - 1) / buckets
        var cached = cachedBuckets(job.id, width: width)
        let after = cached.last?.lastStep ?? 0
        let rows = try database.query("""
            SELECT (step - 1) / $2 AS b, MIN(step) AS first_step, MAX(step) AS last_step,
              MIN(loss) AS loss_lo, MAX(loss) AS loss_hi, MIN(accuracy) AS acc_lo, MAX(accuracy) AS acc_hi
            FROM training_metrics WHERE job_id = $1 AND step > $3 GROUP BY (step - 1) / $2 ORDER BY b
            """, [.int(Int64(job.id)), .int(Int64(width)), .int(Int64(after))])
        var fresh: [Bucket] = []
        for row in rows {
            fresh.append(Bucket(firstStep: try row.int("first_step"), lastStep: try row.int("last_step"),
                                lossLow: try row.double("loss_lo"), lossHigh: try row.double("loss_hi"),
                                accuracyLow: try row.double("acc_lo"), accuracyHigh: try row.double("acc_hi")))
        }
        // A bucket is final once its last step is written (or the job's last step).
        let finalCount = fresh.prefix { bucket in
            bucket.lastStep == min(((bucket.lastStep - 1) / width + 1) * width, job.totalSteps)
                && bucket.lastStep - bucket.firstStep + 1 == min(width, job.totalSteps - (bucket.lastStep - 1) / width * width)
        }.count
        cached.append(contentsOf: fresh.prefix(finalCount))
        store(job.id, width: width, complete: cached)
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

    private func store(_ jobID: Int, width: Int, complete: [Bucket]) {
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
