import Foundation
import Storage

/// All SQL on `training_jobs`, `training_metrics` and `job_status_counts`. Status changes
/// adjust the per-status counters in the same transaction.
struct JobStore {
    let database: Database

    static let model = ModelStore.Join(alias: "m")
    static let from = "training_jobs j " + model.on("j.model_id")
    /// Every column but `notes`: lists, the dashboard and the runner never show them, and a
    /// job's notes may be 5,000 characters.
    static let columns = """
        j.id, j.name, j.status, j.epochs, j.learning_rate, j.batch_size, j.steps_per_epoch, j.current_step,
        j.failure_reason, j.seed, j.created_at, j.started_at, j.finished_at, j.updated_at, \(model.columns)
        """
    /// `columns` and the notes, for the one page that shows them.
    static let columnsWithNotes = columns + ", j.notes"

    static func decode(_ row: Row) throws -> TrainingJob {
        TrainingJob(
            id: try row.int("id"), name: try row.string("name"), model: try model.decode(row),
            status: JobStatus(rawValue: try row.string("status")) ?? .failed,
            epochs: try row.int("epochs"), learningRate: try row.double("learning_rate"), batchSize: try row.int("batch_size"),
            stepsPerEpoch: try row.int("steps_per_epoch"), currentStep: try row.int("current_step"),
            notes: row.layout.position(of: "notes") == nil ? "" : try row.optionalString("notes") ?? "", failureReason: try row.optionalString("failure_reason"),
            seed: try row.int("seed"), createdAt: try row.date("created_at"), startedAt: try row.optionalDate("started_at"),
            finishedAt: try row.optionalDate("finished_at"), updatedAt: try row.date("updated_at"))
    }

    // MARK: Reads

    func find(_ id: Int) throws -> TrainingJob? {
        try database.queryOne("SELECT \(Self.columnsWithNotes) FROM \(Self.from) WHERE j.id = $1", [.int(Int64(id))]).map(Self.decode)
    }

    /// One page of the jobs list, filtered, sorted and windowed in SQL.
    func list(_ slice: ListSlice<JobSortKey, JobStatus>, modelID: Int?) throws -> ListResult<TrainingJob> {
        var p = SQLParameters()
        var conditions: [String] = []
        if let search = slice.searchCondition(["j.name", Self.model.nameColumn], &p) { conditions.append(search) }
        if let status = slice.statusCondition("j.status", &p) { conditions.append(status) }
        if let modelID { conditions.append("j.model_id = " + p.add(.int(Int64(modelID)))) }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let order: String = switch slice.sort {
        case .name: "j.name"
        case .model: Self.model.nameColumn
        case .status: "j.status"
        case .epochs: "j.epochs"
        case .learningRate: "j.learning_rate"
        case .progress: "(j.current_step * 1.0) / (j.epochs * j.steps_per_epoch)"
        case .created: "j.created_at"
        }
        let rows = try database.query("""
            SELECT \(Self.columns) FROM \(Self.from) \(whereClause) \(slice.orderAndWindow(order, tieBreaker: "j.id", &p))
            """, p.values)
        let jobs = try rows.prefix(slice.limit - 1).map(Self.decode)
        return ListResult(rows: jobs, hasMore: rows.count >= slice.limit)
    }

    /// The newest jobs, optionally of one model.
    func recent(limit: Int, modelID: Int? = nil) throws -> [TrainingJob] {
        var p = SQLParameters()
        let filter = modelID.map { "WHERE j.model_id = " + p.add(.int(Int64($0))) } ?? ""
        return try database.query("""
            SELECT \(Self.columns) FROM \(Self.from) \(filter) ORDER BY j.created_at DESC, j.id DESC LIMIT \(p.add(.int(Int64(limit))))
            """, p.values).map(Self.decode)
    }

    /// Jobs per status, from the counters (never a COUNT over the table).
    func statusCounts() throws -> [JobStatus: Int] {
        var counts: [JobStatus: Int] = [:]
        for row in try database.query("SELECT status, count FROM job_status_counts", []) {
            if let status = JobStatus(rawValue: try row.string("status")) { counts[status] = try row.int("count") }
        }
        return counts
    }

    /// How many jobs each model has, by model id (the catalogue page; a handful of models).
    func countsByModel() throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for row in try database.query("SELECT model_id, COUNT(*) AS n FROM training_jobs GROUP BY model_id", []) {
            counts[try row.int("model_id")] = try row.int("n")
        }
        return counts
    }

    /// How many jobs of any status train `modelID` (deleting a model is refused while any do).
    static func count(_ conn: DatabaseConnection, modelID: Int) throws -> Int {
        try conn.queryOne("SELECT COUNT(*) AS n FROM training_jobs WHERE model_id = $1", [.int(Int64(modelID))])!.int("n")
    }

    /// Metrics after step `since`, in step order.
    func metrics(_ jobID: Int, since: Int, limit: Int) throws -> [TrainingMetric] {
        try database.query("""
            SELECT step, epoch, loss, accuracy FROM training_metrics WHERE job_id = $1 AND step > $2 ORDER BY step LIMIT $3
            """, [.int(Int64(jobID)), .int(Int64(since)), .int(Int64(limit))]).map(Self.decodeMetric)
    }

    func latestMetric(_ jobID: Int) throws -> TrainingMetric? {
        try database.queryOne("""
            SELECT step, epoch, loss, accuracy FROM training_metrics WHERE job_id = $1 ORDER BY step DESC LIMIT 1
            """, [.int(Int64(jobID))]).map(Self.decodeMetric)
    }

    private static func decodeMetric(_ row: Row) throws -> TrainingMetric {
        TrainingMetric(step: try row.int("step"), epoch: try row.int("epoch"), loss: try row.double("loss"), accuracy: try row.double("accuracy"))
    }

    /// Loss and accuracy at every step (for short jobs, drawn point by point).
    func allPoints(_ jobID: Int) throws -> [(step: Int, loss: Double, accuracy: Double)] {
        try database.query("SELECT step, loss, accuracy FROM training_metrics WHERE job_id = $1 ORDER BY step",
                           [.int(Int64(jobID))]).map { (try $0.int("step"), try $0.double("loss"), try $0.double("accuracy")) }
    }

    /// Steps after `after` grouped into buckets of `width` steps, with each bucket's extremes.
    func metricBuckets(_ jobID: Int, width: Int, after: Int) throws -> [MetricChartCache.Bucket] {
        try database.query("""
            SELECT (step - 1) / $2 AS b, MIN(step) AS first_step, MAX(step) AS last_step,
              MIN(loss) AS loss_lo, MAX(loss) AS loss_hi, MIN(accuracy) AS acc_lo, MAX(accuracy) AS acc_hi
            FROM training_metrics WHERE job_id = $1 AND step > $3 GROUP BY (step - 1) / $2 ORDER BY b
            """, [.int(Int64(jobID)), .int(Int64(width)), .int(Int64(after))]).map { row in
            MetricChartCache.Bucket(firstStep: try row.int("first_step"), lastStep: try row.int("last_step"),
                                    lossLow: try row.double("loss_lo"), lossHigh: try row.double("loss_hi"),
                                    accuracyLow: try row.double("acc_lo"), accuracyHigh: try row.double("acc_hi"))
        }
    }

    // MARK: Writes

    /// A job row with every column chosen by the caller (the form's create, demo data, bulk loads).
    struct NewJob {
        var name: String
        var modelID: Int
        var status: JobStatus = .queued
        var epochs: Int
        var learningRate: Double
        var batchSize: Int
        var stepsPerEpoch = 100
        var currentStep = 0
        var notes = ""
        var failureReason: String?
        var seed: Int
        var createdAt: Date
        var startedAt: Date?
        var finishedAt: Date?
        var updatedAt: Date
    }

    /// Creates a queued job from the validated form.
    func create(_ job: JobForm.Valid, modelID: Int, by actor: Actor, now: Date) throws -> Int {
        var generator = SystemRandomNumberGenerator()
        let row = NewJob(name: job.name, modelID: modelID, epochs: job.epochs, learningRate: job.learningRate, batchSize: job.batchSize,
                         notes: job.notes, seed: Int.random(in: 1...1_000_000_000, using: &generator), createdAt: now, updatedAt: now)
        return try database.transaction { conn in
            let id = try Self.insert(conn, row)
            try AuditStore.record(conn, actor, .jobCreate, target: "\(id)", details: "\(job.name) on \(job.modelSlug), \(job.epochs) epochs", now: now)
            return id
        }
    }

    /// Inserts `job` and counts it in its status.
    static func insert(_ conn: DatabaseConnection, _ job: NewJob) throws -> Int {
        try rules(job)
        var p = SQLParameters()
        let id = try conn.query("INSERT INTO \(insertColumns) VALUES \(tuple(job, &p)) RETURNING id", p.values)[0].int("id")
        try adjustCounts(conn, from: nil, to: job.status)
        return id
    }

    /// Inserts many jobs in one statement; returns each one's id by name (names must differ).
    /// The counters are not adjusted: bulk loaders `recount` once at the end.
    static func insertMany(_ conn: DatabaseConnection, _ jobs: [NewJob]) throws -> [String: Int] {
        var p = SQLParameters()
        var tuples: [String] = []
        for job in jobs {
            try rules(job)
            tuples.append(tuple(job, &p))
        }
        var ids: [String: Int] = [:]
        for row in try conn.query("INSERT INTO \(insertColumns) VALUES \(tuples.joined(separator: ", ")) RETURNING id, name", p.values) {
            ids[try row.string("name")] = try row.int("id")
        }
        return ids
    }

    private static let insertColumns = """
        training_jobs (name, model_id, status, epochs, learning_rate, batch_size, steps_per_epoch, current_step, notes,
            failure_reason, seed, created_at, started_at, finished_at, updated_at)
        """

    private static func tuple(_ job: NewJob, _ p: inout SQLParameters) -> String {
        let values: [SQLValue] = [
            .text(job.name), .int(Int64(job.modelID)), .text(job.status.rawValue), .int(Int64(job.epochs)), .double(job.learningRate),
            .int(Int64(job.batchSize)), .int(Int64(job.stepsPerEpoch)), .int(Int64(job.currentStep)), .text(job.notes),
            SQLValue(job.failureReason), .int(Int64(job.seed)), .date(job.createdAt), SQLValue(job.startedAt),
            SQLValue(job.finishedAt), .date(job.updatedAt),
        ]
        return "(" + p.list(values) + ")"
    }

    /// The form's rules, checked again where the row is written, as a typed error.
    private static func rules(_ job: NewJob) throws {
        try JobRules.epochs.check(job.epochs)
        try JobRules.learningRate.check(job.learningRate)
        try JobRules.notes.check(job.notes)
        try JobRules.name.check(job.name)
    }

    enum TransitionResult: Equatable {
        case changed(from: JobStatus)
        case notAllowed(current: JobStatus)
        case notFound
    }

    /// Moves a job to `to` if its current status is one of `from`, atomically.
    func transition(_ id: Int, from allowed: [JobStatus], to new: JobStatus, reason: String? = nil, by actor: Actor, now: Date) throws -> TransitionResult {
        try database.transaction { conn in
            guard let row = try conn.queryOne("SELECT status FROM training_jobs WHERE id = $1" + conn.dialect.lockRows(),
                                              [.int(Int64(id))]) else {
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
            try Self.adjustCounts(conn, from: current, to: new)
            let action: AuditAction = switch new {
            case .running: .jobStart
            case .failed: .jobStop
            case .complete: .jobComplete
            case .queued: .jobCreate
            }
            try AuditStore.record(conn, actor, action, target: "\(id)",
                                  details: "\(current.rawValue) → \(new.rawValue)" + (reason.map { ": \($0)" } ?? ""), now: now)
            return .changed(from: current)
        }
    }

    // MARK: The runner's steps (inside its transaction)

    /// Running jobs that waited longest, locked for this transaction; rows another process
    /// holds are skipped, so replicas never advance the same job twice.
    static func claimRunning(_ conn: DatabaseConnection, limit: Int) throws -> [TrainingJob] {
        try conn.query("""
            SELECT \(columns) FROM \(from) WHERE j.status = 'running' ORDER BY j.updated_at, j.id LIMIT $1
            """ + conn.dialect.lockRows(of: "j", .skipLocked), [.int(Int64(limit))]).map(decode)
    }

    struct MetricRow {
        var step: Int
        var epoch: Int
        var loss: Double
        var accuracy: Double
        var learningRate: Double
        var recordedAt: Date
    }

    /// Appends metric rows for `jobID`, a few hundred per statement.
    static func insertMetrics(_ conn: DatabaseConnection, jobID: Int, _ rows: [MetricRow]) throws {
        for chunk in stride(from: 0, to: rows.count, by: 200).map({ rows[$0..<min($0 + 200, rows.count)] }) {
            var p = SQLParameters()
            let tuples = chunk.map { m in
                "(" + p.list([.int(Int64(jobID)), .int(Int64(m.step)), .int(Int64(m.epoch)), .double(m.loss), .double(m.accuracy),
                              .double(m.learningRate), .date(m.recordedAt)]) + ")"
            }
            try conn.execute("""
                INSERT INTO training_metrics (job_id, step, epoch, loss, accuracy, learning_rate, recorded_at) VALUES \(tuples.joined(separator: ", "))
                """, p.values)
        }
    }

    /// Records progress of a running job; `updatedAt` carries the pace's fractional remainder.
    static func advance(_ conn: DatabaseConnection, jobID: Int, to step: Int, updatedAt: Date) throws {
        try conn.execute("UPDATE training_jobs SET current_step = $2, updated_at = $3 WHERE id = $1",
                         [.int(Int64(jobID)), .int(Int64(step)), .date(updatedAt)])
    }

    /// Ends a running job at `step` as complete or failed.
    static func finish(_ conn: DatabaseConnection, jobID: Int, at step: Int, status: JobStatus, reason: String?, now: Date) throws {
        try conn.execute("""
            UPDATE training_jobs SET current_step = $2, status = $3, failure_reason = $4, finished_at = $5, updated_at = $5 WHERE id = $1
            """, [.int(Int64(jobID)), .int(Int64(step)), .text(status.rawValue), SQLValue(reason), .date(now)])
        try adjustCounts(conn, from: .running, to: status)
        try AuditStore.record(conn, .system, status == .complete ? .jobComplete : .jobFail, target: "\(jobID)",
                              details: reason ?? "all steps done", now: now)
    }

    // MARK: Counters

    static func adjustCounts(_ conn: DatabaseConnection, from old: JobStatus?, to new: JobStatus?) throws {
        if let old { try conn.execute("UPDATE job_status_counts SET count = count - 1 WHERE status = $1", [.text(old.rawValue)]) }
        if let new { try conn.execute("UPDATE job_status_counts SET count = count + 1 WHERE status = $1", [.text(new.rawValue)]) }
    }

    /// Rebuilds the counters from the rows (after bulk loads).
    static func recount(_ conn: DatabaseConnection) throws {
        try conn.execute("""
            UPDATE job_status_counts SET count =
              (SELECT COUNT(*) FROM training_jobs j WHERE j.status = job_status_counts.status)
            """, [])
    }

    /// How the deployments store shows the job a deployment came from: the `training_jobs`
    /// columns are spelt here only.
    struct Join {
        let alias: String
        func on(_ foreignKey: String) -> String { "JOIN training_jobs \(alias) ON \(alias).id = \(foreignKey)" }
        var columns: String { "\(alias).name AS job_name, \(alias).seed AS job_seed" }
    }
}
