import Foundation
import Storage

/// SQL for training jobs and their metrics. Status changes adjust the per-status counters in the
/// same transaction.
struct JobStore {
    let database: Database

    static let columns = """
        j.id, j.name, j.model_id, m.slug AS model_slug, m.name AS model_name, m.size_class, j.status, j.epochs,
        j.learning_rate, j.batch_size, j.steps_per_epoch, j.current_step, j.notes, j.failure_reason, j.seed,
        j.created_at, j.started_at, j.finished_at, j.updated_at
        """

    static func decode(_ row: Row) throws -> TrainingJob {
        TrainingJob(
            id: try row.int("id"), name: try row.string("name"), modelID: try row.int("model_id"),
            modelSlug: try row.string("model_slug"), modelName: try row.string("model_name"),
            sizeClass: SizeClass(rawValue: try row.string("size_class")) ?? .small,
            status: JobStatus(rawValue: try row.string("status")) ?? .failed,
            epochs: try row.int("epochs"), learningRate: try row.double("learning_rate"), batchSize: try row.int("batch_size"),
            stepsPerEpoch: try row.int("steps_per_epoch"), currentStep: try row.int("current_step"),
            notes: try row.optionalString("notes") ?? "", failureReason: try row.optionalString("failure_reason"),
            seed: try row.int("seed"), createdAt: try row.date("created_at"), startedAt: try row.optionalDate("started_at"),
            finishedAt: try row.optionalDate("finished_at"), updatedAt: try row.date("updated_at"))
    }

    func find(_ id: Int) throws -> TrainingJob? {
        try database.queryOne("SELECT \(Self.columns) FROM training_jobs j JOIN models m ON m.id = j.model_id WHERE j.id = $1",
                              [.int(Int64(id))]).map(Self.decode)
    }

    func create(_ job: JobForm.Valid, modelID: Int, now: Date) throws -> Int {
        try database.transaction { conn in
            var generator = SystemRandomNumberGenerator()
            let seed = Int.random(in: 1...1_000_000_000, using: &generator)
            let rows = try conn.query("""
                INSERT INTO training_jobs (name, model_id, status, epochs, learning_rate, batch_size, steps_per_epoch,
                    current_step, notes, seed, created_at, updated_at)
                VALUES ($1, $2, 'queued', $3, $4, $5, 100, 0, $6, $7, $8, $8) RETURNING id
                """, [.text(job.name), .int(Int64(modelID)), .int(Int64(job.epochs)), .double(job.learningRate),
                      .int(Int64(job.batchSize)), .text(job.notes), .int(Int64(seed)), .date(now)])
            try StatusCounters.adjustJobs(conn, from: nil, to: .queued)
            return try rows[0].int("id")
        }
    }

    enum TransitionResult: Equatable {
        case changed(from: JobStatus)
        case notAllowed(current: JobStatus)
        case notFound
    }

    /// Moves a job to `to` if its current status is one of `from`, atomically.
    func transition(_ id: Int, from allowed: [JobStatus], to new: JobStatus, reason: String? = nil, now: Date) throws -> TransitionResult {
        try database.transaction { conn in
            let lock = conn.dialect == .postgres ? " FOR UPDATE" : ""
            guard let row = try conn.queryOne("SELECT status FROM training_jobs WHERE id = $1\(lock)", [.int(Int64(id))]) else {
                return .notFound
            }
            let current = JobStatus(rawValue: try row.string("status")) ?? .failed
            guard allowed.contains(current) else { return .notAllowed(current: current) }
            switch new {
            case .running:
                try conn.execute("UPDATE training_jobs SET status = 'running', started_at = $2, updated_at = $2 WHERE id = $1",
                                 [.int(Int64(id)), .date(now)])
            case .failed, .complete:
                try conn.execute("""
                    UPDATE training_jobs SET status = $2, failure_reason = $3, finished_at = $4, updated_at = $4 WHERE id = $1
                    """, [.int(Int64(id)), .text(new.rawValue), SQLValue(reason), .date(now)])
            case .queued:
                try conn.execute("UPDATE training_jobs SET status = 'queued', updated_at = $2 WHERE id = $1", [.int(Int64(id)), .date(now)])
            }
            try StatusCounters.adjustJobs(conn, from: current, to: new)
            return .changed(from: current)
        }
    }

    /// Metrics after `since`, in step order.
    func metrics(_ jobID: Int, since: Int, limit: Int) throws -> [TrainingMetric] {
        try database.query("""
            SELECT step, epoch, loss, accuracy FROM training_metrics WHERE job_id = $1 AND step > $2 ORDER BY step LIMIT $3
            """, [.int(Int64(jobID)), .int(Int64(since)), .int(Int64(limit))]).map {
            TrainingMetric(step: try $0.int("step"), epoch: try $0.int("epoch"), loss: try $0.double("loss"), accuracy: try $0.double("accuracy"))
        }
    }

    func latestMetric(_ jobID: Int) throws -> TrainingMetric? {
        try database.queryOne("""
            SELECT step, epoch, loss, accuracy FROM training_metrics WHERE job_id = $1 ORDER BY step DESC LIMIT 1
            """, [.int(Int64(jobID))]).map {
            TrainingMetric(step: try $0.int("step"), epoch: try $0.int("epoch"), loss: try $0.double("loss"), accuracy: try $0.double("accuracy"))
        }
    }

    /// The live (deploying, active or paused) deployment of each of `jobIDs` that has one.
    func liveDeployments(of jobIDs: [Int]) throws -> [Int: Int] {
        guard !jobIDs.isEmpty else { return [:] }
        let placeholders = (1...jobIDs.count).map { "$\($0)" }.joined(separator: ", ")
        var out: [Int: Int] = [:]
        for row in try database.query("""
            SELECT job_id, id FROM deployments
            WHERE deleted_at IS NULL AND status IN ('deploying', 'active', 'paused') AND job_id IN (\(placeholders))
            """, jobIDs.map { .int(Int64($0)) }) {
            out[try row.int("job_id")] = try row.int("id")
        }
        return out
    }
}
