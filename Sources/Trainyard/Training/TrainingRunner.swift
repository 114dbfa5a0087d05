import Foundation
import Storage

/// Advances running simulated jobs: writes `loss` and `accuracy` at every step and completes or fails the job.
///
/// Each tick claims running jobs in one transaction (skip-locked row locks on PostgreSQL,
/// so several `serve` processes never write the same step; SQLite serialises writers itself)
/// and writes the steps due since the job last advanced. After a restart a job continues from
/// its `current_step`; a long outage does not make it jump ahead.
struct TrainingRunner {
    /// At speed 1 a 3-epoch job (300 steps) finishes in about a minute.
    static let stepsPerSecond = 5.0
    /// Jobs advanced per tick; the rest wait for the next tick (or another process).
    static let jobsPerTick = 20

    let database: Database
    let speed: Double

    var rate: Double { Self.stepsPerSecond * speed }

    @discardableResult
    func tick(now: Date = Date()) throws -> Int {
        try database.transaction { conn in
            var written = 0
            for job in try JobStore.claimRunning(conn, limit: Self.jobsPerTick) {
                written += try advance(job, conn: conn, now: now)
            }
            return written
        }
    }

    private func advance(_ job: TrainingJob, conn: DatabaseConnection, now: Date) throws -> Int {
        guard let simulator = job.simulator, let totalSteps = job.totalSteps else { return 0 }
        let elapsed = now.timeIntervalSince(job.updatedAt)
        var due = Int((elapsed * rate + 1e-6).rounded(.down))
        guard due >= 1 || job.currentStep >= totalSteps else { return 0 }
        // Never jump ahead after downtime: at most two seconds' worth per tick.
        let cap = max(1, Int(rate * 2))
        let capped = due > cap
        due = min(due, cap, totalSteps - job.currentStep)

        var step = job.currentStep
        var outcome: (JobStatus, String?)?
        let base = job.updatedAt
        var rows: [MetricStore.NewPoint] = []
        rows.reserveCapacity(due * 2)
        while step < job.currentStep + due {
            step += 1
            let point = simulator.point(at: step)
            let recorded = capped ? now : base.addingTimeInterval(Double(step - job.currentStep) / rate)
            rows.append(.init(key: "loss", step: step, value: point.loss, recordedAt: recorded))
            rows.append(.init(key: "accuracy", step: step, value: point.accuracy, recordedAt: recorded))
            if point.diverged { outcome = (.failed, "loss diverged"); break }
        }
        try MetricStore.write(conn, jobID: job.id, rows)
        if outcome == nil && step >= totalSteps { outcome = (.complete, nil) }

        if let (status, reason) = outcome {
            try JobStore.finish(conn, jobID: job.id, at: step, status: status, reason: reason, now: now)
        } else {
            // Keep the fractional remainder so the pace stays exact between ticks.
            let advancedTo = capped ? now : base.addingTimeInterval(Double(step - job.currentStep) / rate)
            try JobStore.advance(conn, jobID: job.id, to: step, updatedAt: advancedTo)
        }
        return step - job.currentStep
    }
}
