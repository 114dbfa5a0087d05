import Foundation
import Storage

/// All SQL on `training_jobs` and `job_status_counts`. Status changes adjust the per-status
/// counters in the same transaction. Metrics, params and tags are `MetricStore`'s and
/// `RunDataStore`'s.
struct JobStore {
    let database: Database

    static let model = ModelStore.Join(alias: "m")
    static let from = "training_jobs j " + model.leftOn("j.model_id") + " LEFT JOIN experiments e ON e.id = j.experiment_id"
    /// Every column but `notes`: lists, the dashboard and the runner never show them, and a
    /// job's notes may be 5,000 characters.
    static let columns = """
        j.id, j.name, j.status, j.source, j.epochs, j.learning_rate, j.batch_size, j.steps_per_epoch, j.current_step,
        j.failure_reason, j.seed, j.created_at, j.started_at, j.finished_at, j.updated_at, j.run_uuid, j.last_report_at,
        j.experiment_id, e.name AS experiment_name, \(model.columns)
        """
    /// `columns` and the notes, for the one page that shows them.
    static let columnsWithNotes = columns + ", j.notes"

    static func decode(_ row: Row) throws -> TrainingJob {
        let source = JobSource(rawValue: try row.string("source")) ?? .simulated
        var plan: SimulationPlan?
        if let epochs = try row.optionalInt("epochs"), let rate = try row.optionalDouble("learning_rate"),
           let batch = try row.optionalInt("batch_size"), let steps = try row.optionalInt("steps_per_epoch") {
            plan = SimulationPlan(epochs: epochs, learningRate: rate, batchSize: batch, stepsPerEpoch: steps)
        }
        let run = try row.optionalString("run_uuid").map { ReportedRun(runID: $0, lastReportAt: try row.optionalDate("last_report_at")) }
        let experiment = try row.optionalInt("experiment_id").map { ExperimentRef(id: $0, name: try row.optionalString("experiment_name") ?? "") }
        return TrainingJob(
            id: try row.int("id"), name: try row.string("name"), model: try model.decodeIfPresent(row),
            status: JobStatus(rawValue: try row.string("status")) ?? .failed, source: source,
            plan: plan, run: run, experiment: experiment, currentStep: try row.int("current_step"),
            notes: row.layout.position(of: "notes") == nil ? "" : try row.optionalString("notes") ?? "", failureReason: try row.optionalString("failure_reason"),
            seed: try row.int("seed"), createdAt: try row.date("created_at"), startedAt: try row.optionalDate("started_at"),
            finishedAt: try row.optionalDate("finished_at"), updatedAt: try row.date("updated_at"))
    }

    // MARK: Reads

    func find(_ id: Int) throws -> TrainingJob? {
        try database.queryOne("SELECT \(Self.columnsWithNotes) FROM \(Self.from) WHERE j.id = $1", [.int(Int64(id))]).map(Self.decode)
    }

    /// Jobs by id (the compare page), in no particular order.
    func find(ids: [Int]) throws -> [TrainingJob] {
        guard !ids.isEmpty else { return [] }
        var p = SQLParameters()
        return try database.query("SELECT \(Self.columns) FROM \(Self.from) WHERE j.id IN (\(p.list(ids.map { .int(Int64($0)) })))",
                                  p.values).map(Self.decode)
    }

    /// The filters of the jobs list beyond search and status.
    struct Filters {
        var modelID: Int?
        var experimentID: Int?
    }

    /// One page of the jobs list, filtered, sorted and windowed in SQL.
    func list(_ slice: ListSlice<JobSortKey, JobStatus>, filters: Filters = Filters()) throws -> ListResult<TrainingJob> {
        var p = SQLParameters()
        let clauses = Self.tableClauses(slice, filters, &p)
        let rows = try database.queryList("SELECT \(Self.columns) FROM \(Self.from) \(clauses.page(slice, &p))", p.values, for: slice)
        let jobs = try rows.prefix(slice.limit - 1).map(Self.decode)
        return ListResult(rows: jobs, hasMore: rows.count >= slice.limit)
    }

    /// The list's jobs after `cursor` in the page's order, `limit` at a time, for the export:
    /// the same conditions and order as `list`, continued by keyset instead of OFFSET.
    func listBatch(_ slice: ListSlice<JobSortKey, JobStatus>, filters: Filters, after cursor: ListCursor?,
                   limit: Int) throws -> ListBatch<TrainingJob> {
        var p = SQLParameters()
        let clauses = Self.tableClauses(slice, filters, &p)
        let rows = try database.queryList("""
            SELECT \(Self.columns), \(clauses.sortKey) AS \(ListClauses.sortKeyColumn) FROM \(Self.from) \(clauses.batch(after: cursor, limit: limit, &p))
            """, p.values, for: slice)
        return ListBatch(rows: try rows.map(Self.decode), next: rows.count < limit ? nil : try rows.last.map { try ListCursor(after: $0) })
    }

    /// The jobs list's filters and order, the one place both `list` and `listBatch` take them from.
    static func tableClauses(_ slice: ListSlice<JobSortKey, JobStatus>, _ filters: Filters, _ p: inout SQLParameters) -> ListClauses {
        var conditions: [String] = []
        if let search = slice.searchCondition(["j.name", model.nameColumn, "e.name"], &p) { conditions.append(search) }
        if let status = slice.statusCondition("j.status", &p) { conditions.append(status) }
        if let modelID = filters.modelID { conditions.append("j.model_id = " + p.add(.int(Int64(modelID)))) }
        if let experimentID = filters.experimentID { conditions.append("j.experiment_id = " + p.add(.int(Int64(experimentID)))) }
        // Reported runs have no plan; COALESCE sorts them the same way on both dialects (and
        // gives the export's keyset a value to continue from).
        let order: String = switch slice.sort {
        case .name: "j.name"
        case .model: "COALESCE(\(model.nameColumn), '')"
        case .experiment: "COALESCE(e.name, '')"
        case .status: "j.status"
        case .epochs: "COALESCE(j.epochs, 0)"
        case .learningRate: "COALESCE(j.learning_rate, 0)"
        case .progress: "COALESCE((j.current_step * 1.0) / (j.epochs * j.steps_per_epoch), 0)"
        case .created: "j.created_at"
        }
        return ListClauses(conditions: conditions, sortKey: order, tieBreaker: "j.id", direction: slice.direction)
    }

    /// The newest jobs, optionally of one model.
    func recent(limit: Int, modelID: Int? = nil) throws -> [TrainingJob] {
        var p = SQLParameters()
        let filter = modelID.map { "WHERE j.model_id = " + p.add(.int(Int64($0))) } ?? ""
        return try database.query("""
            SELECT \(Self.columns) FROM \(Self.from) \(filter) ORDER BY j.created_at DESC, j.id DESC LIMIT \(limit)
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
        for row in try database.query("SELECT model_id, COUNT(*) AS n FROM training_jobs WHERE model_id IS NOT NULL GROUP BY model_id", []) {
            counts[try row.int("model_id")] = try row.int("n")
        }
        return counts
    }

    /// How many jobs of any status train `modelID` (deleting a model is refused while any do).
    static func count(_ conn: DatabaseConnection, modelID: Int) throws -> Int {
        try conn.queryOne("SELECT COUNT(*) AS n FROM training_jobs WHERE model_id = $1", [.int(Int64(modelID))])!.int("n")
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
        var experimentID: Int?
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
        training_jobs (name, model_id, status, epochs, learning_rate, batch_size, steps_per_epoch, experiment_id, current_step, notes,
            failure_reason, seed, created_at, started_at, finished_at, updated_at)
        """

    private static func tuple(_ job: NewJob, _ p: inout SQLParameters) -> String {
        let values: [SQLValue] = [
            .text(job.name), .int(Int64(job.modelID)), .text(job.status.rawValue), .int(Int64(job.epochs)), .double(job.learningRate),
            .int(Int64(job.batchSize)), .int(Int64(job.stepsPerEpoch)), SQLValue(job.experimentID), .int(Int64(job.currentStep)), .text(job.notes),
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
            SELECT \(columns) FROM \(from) WHERE j.status = 'running' AND j.source = 'simulated' ORDER BY j.updated_at, j.id LIMIT $1
            """ + conn.dialect.lockRows(of: "j", .skipLocked), [.int(Int64(limit))]).map(decode)
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
