import Foundation
import Storage

/// Writes and reads of reported runs: training jobs whose metrics, params and tags arrive over
/// the tracking API. Every write locks the run's row first, so a batch is all-or-nothing and
/// two batches of one run never interleave.
struct RunStore {
    let database: Database

    /// A KILLED run is a failed job with this reason (and reads back as KILLED).
    static let killedReason = "killed"
    static let failedReason = "the training code reported FAILED"

    // MARK: Reads

    func job(runID: String) throws -> TrainingJob? {
        guard Self.isRunID(runID) else { return nil }
        return try database.queryOne("SELECT \(JobStore.columns) FROM \(JobStore.from) WHERE j.run_uuid = $1", [.text(runID)])
            .map(JobStore.decode)
    }

    func run(_ runID: String) throws -> TrackedRun? {
        guard let job = try job(runID: runID) else { return nil }
        let data = RunDataStore(database: database)
        return TrackedRun(job: job, metrics: try MetricStore(database: database).summaries(job.id),
                          params: try data.all(.params, of: job.id), tags: try data.all(.tags, of: job.id))
    }

    /// Every reported run of `experiments` with its data, for `runs/search` (which filters and
    /// orders them as MLflow does, in memory).
    func runs(inExperiments experiments: [Int]) throws -> [TrackedRun] {
        guard !experiments.isEmpty else { return [] }
        var p = SQLParameters()
        let jobs = try database.query("""
            SELECT \(JobStore.columns) FROM \(JobStore.from)
            WHERE j.source = 'reported' AND j.experiment_id IN (\(p.list(experiments.map { .int(Int64($0)) })))
            """, p.values).map(JobStore.decode)
        var out: [TrackedRun] = []
        out.reserveCapacity(jobs.count)
        let data = RunDataStore(database: database), metrics = MetricStore(database: database)
        for chunk in stride(from: 0, to: jobs.count, by: 500).map({ Array(jobs[$0..<min($0 + 500, jobs.count)]) }) {
            let ids = chunk.map(\.id)
            let summaries = try metrics.summaries(ofJobs: ids)
            let params = try data.all(.params, ofJobs: ids), tags = try data.all(.tags, ofJobs: ids)
            out += chunk.map { TrackedRun(job: $0, metrics: summaries[$0.id] ?? [], params: params[$0.id] ?? [], tags: tags[$0.id] ?? []) }
        }
        return out
    }

    /// MLflow's run ids here: 32 lower-case hex digits.
    static func isRunID(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    // MARK: Writes

    struct NewRun {
        var experimentID: Int
        var name: String?
        var startTime: Date?
        var tags: [RunDataStore.KeyValue]
    }

    /// Creates a running reported job. Its base model is the catalogue model named by a
    /// `base_model` tag, if any (a param logged later can name it too).
    func create(_ new: NewRun, by actor: Actor, now: Date) throws -> String {
        let runID = Hex.encode(Signer.randomBytes(16))
        var tags = new.tags.lastPerKey
        let name = new.name ?? tags.first { $0.key == "mlflow.runName" }?.value ?? "run-" + runID.prefix(8)
        if !tags.contains(where: { $0.key == "mlflow.runName" }) { tags.append(.init(key: "mlflow.runName", value: name)) }
        var generator = SystemRandomNumberGenerator()
        let start = new.startTime ?? now
        try database.transaction { conn in
            let modelID = try Self.modelID(conn, named: tags.first { $0.key == "base_model" }?.value)
            let id = try conn.query("""
                INSERT INTO training_jobs (name, source, model_id, experiment_id, run_uuid, status, steps_per_epoch, seed,
                    created_at, started_at, updated_at, last_report_at)
                VALUES ($1, 'reported', $2, $3, $4, 'running', NULL, $5, $6, $7, $6, $6) RETURNING id
                """, [.text(name), SQLValue(modelID), .int(Int64(new.experimentID)), .text(runID),
                      .int(Int64(Int.random(in: 1...1_000_000_000, using: &generator))), .date(now), .date(start)])[0].int("id")
            try JobStore.adjustCounts(conn, from: nil, to: .running)
            try RunDataStore.setTags(conn, jobID: id, tags)
            try AuditStore.record(conn, actor, .runCreate, target: "\(id)", details: "\(name) (run \(runID))", now: now)
        }
        return runID
    }

    /// The status MLflow's client reports, as a job status and failure reason.
    static func status(fromMLflow name: String) -> (JobStatus, String?)? {
        switch name.uppercased() {
        case "RUNNING": (.running, nil)
        case "SCHEDULED": (.queued, nil)
        case "FINISHED": (.complete, nil)
        case "FAILED": (.failed, failedReason)
        case "KILLED": (.failed, killedReason)
        default: nil
        }
    }

    /// `runs/update`: a new status (ending or resuming the run), end time or name.
    func update(_ runID: String, status: (JobStatus, String?)?, endTime: Date?, name: String?, by actor: Actor, now: Date) throws -> Bool {
        try database.transaction { conn in
            guard let row = try Self.lock(conn, runID) else { return false }
            let id = try row.int("id")
            let current = JobStatus(rawValue: try row.string("status")) ?? .failed
            if let (new, reason) = status {
                let ends = new == .complete || new == .failed
                try conn.execute("""
                    UPDATE training_jobs SET status = $2, failure_reason = $3, finished_at = $4, updated_at = $5, last_report_at = $5 WHERE id = $1
                    """, [.int(Int64(id)), .text(new.rawValue), SQLValue(reason), ends ? .date(endTime ?? now) : .null, .date(now)])
                if new != current {
                    try JobStore.adjustCounts(conn, from: current, to: new)
                    try AuditStore.record(conn, actor, ends ? .runEnd : .runStatus, target: "\(id)",
                                          details: "\(current.rawValue) → \(new.rawValue)" + (reason.map { ": \($0)" } ?? ""), now: now)
                }
            } else if let endTime {
                try conn.execute("UPDATE training_jobs SET finished_at = $2, updated_at = $3 WHERE id = $1",
                                 [.int(Int64(id)), .date(endTime), .date(now)])
            }
            if let name, !name.isEmpty {
                try conn.execute("UPDATE training_jobs SET name = $2 WHERE id = $1", [.int(Int64(id)), .text(name)])
                try RunDataStore.setTags(conn, jobID: id, [.init(key: "mlflow.runName", value: name)])
            }
            return true
        }
    }

    struct Batch {
        var metrics: [MetricStore.NewPoint] = []
        var params: [RunDataStore.KeyValue] = []
        var tags: [RunDataStore.KeyValue] = []
    }

    enum BatchResult: Equatable {
        case logged
        case noRun
        /// A param already logged with another value: nothing of the batch was written.
        case paramChanged(key: String, old: String, new: String)
    }

    /// `log-batch` (and the single-value calls): all of it or, on a changed param, none of it.
    func log(_ runID: String, _ batch: Batch, now: Date) throws -> BatchResult {
        try database.transaction { conn in
            guard let row = try Self.lock(conn, runID) else { return .noRun }
            let id = try row.int("id")
            if let (param, old) = try RunDataStore.changedParam(conn, jobID: id, batch.params) {
                return .paramChanged(key: param.key, old: old, new: param.value)
            }
            try RunDataStore.addParams(conn, jobID: id, batch.params)
            try RunDataStore.setTags(conn, jobID: id, batch.tags.lastPerKey)
            try MetricStore.write(conn, jobID: id, batch.metrics)
            var p = SQLParameters()
            var sets = ["updated_at = \(p.add(.date(now)))", "last_report_at = \(p.add(.date(now)))"]
            if let top = batch.metrics.map(\.step).max(), top > 0 {
                sets.append("current_step = " + conn.dialect.greatest("current_step", p.add(.int(Int64(top)))))
            }
            // A run that names its base model gets it, if the catalogue has it and none is set.
            if try row.optionalInt("model_id") == nil,
               let slug = (batch.params + batch.tags).last(where: { $0.key == "base_model" })?.value,
               let modelID = try Self.modelID(conn, named: slug) {
                sets.append("model_id = " + p.add(.int(Int64(modelID))))
            }
            try conn.execute("UPDATE training_jobs SET \(sets.joined(separator: ", ")) WHERE id = \(p.add(.int(Int64(id))))", p.values)
            return .logged
        }
    }

    enum TagDeletion { case deleted, noRun, noTag }

    func deleteTag(_ runID: String, key: String, now: Date) throws -> TagDeletion {
        try database.transaction { conn in
            guard let row = try Self.lock(conn, runID) else { return .noRun }
            guard try RunDataStore.deleteTag(conn, jobID: try row.int("id"), key: key) else { return .noTag }
            try conn.execute("UPDATE training_jobs SET updated_at = $2, last_report_at = $2 WHERE id = $1", [.int(Int64(try row.int("id"))), .date(now)])
            return .deleted
        }
    }

    /// The run's row, locked for the transaction; nil for an unknown (or simulated) run.
    private static func lock(_ conn: DatabaseConnection, _ runID: String) throws -> Row? {
        guard isRunID(runID) else { return nil }
        return try conn.queryOne("""
            SELECT id, status, model_id FROM training_jobs WHERE run_uuid = $1 AND source = 'reported'
            """ + conn.dialect.lockRows(), [.text(runID)])
    }

    private static func modelID(_ conn: DatabaseConnection, named slug: String?) throws -> Int? {
        guard let slug, !slug.isEmpty else { return nil }
        return try conn.queryOne("SELECT id FROM models WHERE slug = $1", [.text(slug)])?.int("id")
    }

    // MARK: The job page

    enum BaseModelResult: Equatable { case set, notFound, notReported, alreadySet }

    /// Gives a reported run without a base model the one picked on its page.
    func setBaseModel(jobID: Int, modelID: Int, modelName: String, by actor: Actor, now: Date) throws -> BaseModelResult {
        try database.transaction { conn in
            guard let row = try conn.queryOne("SELECT source, model_id FROM training_jobs WHERE id = $1" + conn.dialect.lockRows(),
                                              [.int(Int64(jobID))]) else { return .notFound }
            guard try row.string("source") == JobSource.reported.rawValue else { return .notReported }
            guard try row.optionalInt("model_id") == nil else { return .alreadySet }
            try conn.execute("UPDATE training_jobs SET model_id = $2, updated_at = $3 WHERE id = $1",
                             [.int(Int64(jobID)), .int(Int64(modelID)), .date(now)])
            try AuditStore.record(conn, actor, .jobBaseModel, target: "\(jobID)", details: modelName, now: now)
            return .set
        }
    }
}
