import Foundation
import Storage

/// Advances running jobs: writes one metrics row per step and completes or fails the job.
///
/// Each tick claims running jobs in one transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL,
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
            let claim = conn.dialect == .postgres ? " FOR UPDATE OF j SKIP LOCKED" : ""
            let rows = try conn.query("""
                SELECT \(JobStore.columns) FROM training_jobs j JOIN models m ON m.id = j.model_id
                WHERE j.status = 'running' ORDER BY j.updated_at, j.id LIMIT \(Self.jobsPerTick)\(claim)
                """, [])
            var written = 0
            for row in rows {
                written += try advance(try JobStore.decode(row), conn: conn, now: now)
            }
            return written
        }
    }

    private func advance(_ job: TrainingJob, conn: DatabaseConnection, now: Date) throws -> Int {
        let elapsed = now.timeIntervalSince(job.updatedAt)
        var due = Int((elapsed * rate + 1e-6).rounded(.down))
        guard due >= 1 || job.currentStep >= job.totalSteps else { return 0 }
        // Never jump ahead after downtime: at most two seconds' worth per tick.
        let cap = max(1, Int(rate * 2))
        let capped = due > cap
        due = min(due, cap, job.totalSteps - job.currentStep)

        let simulator = job.simulator
        var step = job.currentStep
        var outcome: (JobStatus, String?)?
        let base = job.updatedAt
        while step < job.currentStep + due {
            step += 1
            let point = simulator.point(at: step)
            let recorded = capped ? now : base.addingTimeInterval(Double(step - job.currentStep) / rate)
            try conn.execute("""
                INSERT INTO training_metrics (job_id, step, epoch, loss, accuracy, learning_rate, recorded_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                """, [.int(Int64(job.id)), .int(Int64(step)), .int(Int64(point.epoch)), .double(point.loss),
                      .double(point.accuracy), .double(point.learningRate), .date(recorded)])
            if point.diverged { outcome = (.failed, "loss diverged"); break }
        }
        if outcome == nil && step >= job.totalSteps { outcome = (.complete, nil) }

        // Keep the fractional remainder so the pace stays exact between ticks.
        let advancedTo = capped ? now : base.addingTimeInterval(Double(step - job.currentStep) / rate)
        if let (status, reason) = outcome {
            try conn.execute("""
                UPDATE training_jobs SET current_step = $2, status = $3, failure_reason = $4, finished_at = $5, updated_at = $5 WHERE id = $1
                """, [.int(Int64(job.id)), .int(Int64(step)), .text(status.rawValue), SQLValue(reason), .date(now)])
            try StatusCounters.adjustJobs(conn, from: .running, to: status)
        } else {
            try conn.execute("UPDATE training_jobs SET current_step = $2, updated_at = $3 WHERE id = $1",
                             [.int(Int64(job.id)), .int(Int64(step)), .date(advancedTo)])
        }
        return step - job.currentStep
    }
}
