import Foundation
import Storage

/// All SQL on `deployments`, `deployment_resources`, `deployment_replicas`,
/// `deployment_status_history`, `inference_metrics` and `deployment_status_counts`.
///
/// Every status change, scale and soft delete runs in one transaction that also writes the
/// history row and adjusts `deployment_status_counts`.
struct DeploymentStore {
    let database: Database

    static let model = ModelStore.Join(alias: "m")
    static let job = JobStore.Join(alias: "j")
    static let columns = """
        d.id, d.job_id, \(job.columns), \(model.columns), d.name, d.version, d.status, d.endpoint, d.target_replicas,
        d.deployed_by, d.created_at, d.updated_at, d.deleted_at, d.rps, d.p50_ms, d.p95_ms, d.p99_ms, d.error_rate, d.stats_at
        """
    static let from = "deployments d " + job.on("d.job_id") + " " + model.on("d.model_id")

    /// The statuses that hold a job's one live deployment, as SQL.
    static let liveStatuses = "(" + DeploymentStatus.live.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"

    static func decode(_ row: Row) throws -> Deployment {
        Deployment(
            id: try row.int("id"), jobID: try row.int("job_id"), jobName: try row.string("job_name"), jobSeed: try row.int("job_seed"),
            model: try model.decode(row), name: try row.string("name"),
            version: try row.string("version"), status: DeploymentStatus(rawValue: try row.string("status")) ?? .failed,
            endpoint: try row.string("endpoint"), targetReplicas: try row.int("target_replicas"), deployedBy: try row.string("deployed_by"),
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"), deletedAt: try row.optionalDate("deleted_at"),
            stats: DeploymentStats(rps: try row.double("rps"), p50: try row.double("p50_ms"), p95: try row.double("p95_ms"),
                                   p99: try row.double("p99_ms"), errorRate: try row.double("error_rate")),
            statsAt: try row.optionalDate("stats_at"))
    }

    // MARK: Reads

    /// The deployment, deleted or not.
    func find(_ id: Int) throws -> Deployment? {
        try database.queryOne("SELECT \(Self.columns) FROM \(Self.from) WHERE d.id = $1", [.int(Int64(id))]).map(Self.decode)
    }

    /// One page of the deployments table. Fast at 100k+ rows: every sort key has an index led
    /// by it (and one led by `status` then the key) with `id` as tie-breaker, partial on live
    /// rows, so `ORDER BY key, id LIMIT per+1` reads only the rows it shows.
    func list(_ slice: ListSlice<DeploymentSortKey, DeploymentStatus>) throws -> ListResult<DeploymentListRow> {
        var p = SQLParameters()
        let clauses = Self.tableClauses(slice, &p)
        let rows = try database.query("SELECT \(Self.listColumns) FROM deployments d \(clauses.page(slice, &p))", p.values)
        return ListResult(rows: try rows.prefix(slice.limit - 1).map(Self.decodeListRow), hasMore: rows.count >= slice.limit)
    }

    /// The table's rows after `cursor` in the page's order, `limit` at a time, for the export:
    /// the same conditions and order as `list`, continued by keyset instead of OFFSET.
    func listBatch(_ slice: ListSlice<DeploymentSortKey, DeploymentStatus>, after cursor: ListCursor?,
                   limit: Int) throws -> ListBatch<DeploymentListRow> {
        var p = SQLParameters()
        let clauses = Self.tableClauses(slice, &p)
        let rows = try database.query("""
            SELECT \(Self.listColumns), \(clauses.sortKey) AS \(ListClauses.sortKeyColumn) FROM deployments d \(clauses.batch(after: cursor, limit: limit, &p))
            """, p.values)
        return ListBatch(rows: try rows.map(Self.decodeListRow), next: rows.count < limit ? nil : try rows.last.map { try ListCursor(after: $0) })
    }

    /// The deployments table's filters and order, the one place both `list` and `listBatch`
    /// take them from. Deleted deployments are never listed.
    static func tableClauses(_ slice: ListSlice<DeploymentSortKey, DeploymentStatus>, _ p: inout SQLParameters) -> ListClauses {
        var conditions = ["deleted_at IS NULL"]
        if let search = slice.searchCondition(["model_name", "name"], &p) { conditions.append(search) }
        if let status = slice.statusCondition("status", &p) { conditions.append(status) }
        let column: String = switch slice.sort {
        case .model: "model_name"
        case .version: "version_number"
        case .status: "status"
        case .rps: "rps"
        case .p50: "p50_ms"
        case .p95: "p95_ms"
        case .p99: "p99_ms"
        case .errors: "error_rate"
        case .created: "created_at"
        }
        return ListClauses(conditions: conditions, sortKey: column, tieBreaker: "id", direction: slice.direction)
    }

    private static let listColumns = """
        d.id, d.model_name, d.name, d.version, d.status, d.target_replicas, d.rps, d.p50_ms, d.p95_ms, d.p99_ms,
            d.error_rate, d.created_at,
            (SELECT COUNT(*) FROM deployment_replicas r WHERE r.deployment_id = d.id AND r.status = 'running') AS running
        """

    private static func decodeListRow(_ row: Row) throws -> DeploymentListRow {
        DeploymentListRow(
            id: try row.int("id"), modelName: try row.string("model_name"), name: try row.string("name"),
            version: try row.string("version"), status: DeploymentStatus(rawValue: try row.string("status")) ?? .failed,
            targetReplicas: try row.int("target_replicas"), runningReplicas: try row.int("running"),
            stats: DeploymentStats(rps: try row.double("rps"), p50: try row.double("p50_ms"), p95: try row.double("p95_ms"),
                                   p99: try row.double("p99_ms"), errorRate: try row.double("error_rate")),
            createdAt: try row.date("created_at"))
    }

    /// The newest deployments that are not deleted, optionally of one model.
    func recent(limit: Int, modelID: Int? = nil) throws -> [Deployment] {
        var p = SQLParameters()
        let filter = modelID.map { " AND d.model_id = " + p.add(.int(Int64($0))) } ?? ""
        return try database.query("""
            SELECT \(Self.columns) FROM \(Self.from) WHERE d.deleted_at IS NULL\(filter)
            ORDER BY d.created_at DESC, d.id DESC LIMIT \(p.add(.int(Int64(limit))))
            """, p.values).map(Self.decode)
    }

    /// Deployments per status (not deleted), from the counters (never a COUNT over the table).
    func statusCounts() throws -> [DeploymentStatus: Int] {
        var counts: [DeploymentStatus: Int] = [:]
        for row in try database.query("SELECT status, count FROM deployment_status_counts", []) {
            if let status = DeploymentStatus(rawValue: try row.string("status")) { counts[status] = try row.int("count") }
        }
        return counts
    }

    /// The live deployment of each of `jobIDs` that has one, by job id.
    func liveDeployments(ofJobs jobIDs: [Int]) throws -> [Int: Int] {
        guard !jobIDs.isEmpty else { return [:] }
        var p = SQLParameters()
        var out: [Int: Int] = [:]
        for row in try database.query("""
            SELECT job_id, id FROM deployments
            WHERE deleted_at IS NULL AND status IN \(Self.liveStatuses) AND job_id IN (\(p.list(jobIDs.map { .int(Int64($0)) })))
            """, p.values) {
            out[try row.int("job_id")] = try row.int("id")
        }
        return out
    }

    /// How many live deployments each model has, by model id.
    func liveCountsByModel() throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for row in try database.query("""
            SELECT model_id, COUNT(*) AS n FROM deployments WHERE deleted_at IS NULL AND status IN \(Self.liveStatuses) GROUP BY model_id
            """, []) {
            counts[try row.int("model_id")] = try row.int("n")
        }
        return counts
    }

    /// How many deployments of `modelID` are not deleted (deleting a model is refused while any are).
    static func count(_ conn: DatabaseConnection, modelID: Int) throws -> Int {
        try conn.queryOne("SELECT COUNT(*) AS n FROM deployments WHERE model_id = $1 AND deleted_at IS NULL",
                          [.int(Int64(modelID))])!.int("n")
    }

    /// Follows a model's rename: the table sorts and searches by its own copy of the model's
    /// name, so that a page of 100k deployments needs no join.
    static func renameModel(_ conn: DatabaseConnection, modelID: Int, to name: String) throws {
        try conn.execute("UPDATE deployments SET model_name = $2 WHERE model_id = $1", [.int(Int64(modelID)), .text(name)])
    }

    func resources(_ id: Int) throws -> DeploymentResources? {
        try database.queryOne("SELECT cpu, memory_mb, gpu, storage_gb FROM deployment_resources WHERE deployment_id = $1",
                              [.int(Int64(id))]).map {
            DeploymentResources(cpu: try $0.double("cpu"), memoryMB: try $0.int("memory_mb"), gpu: try $0.int("gpu"),
                                storageGB: try $0.int("storage_gb"))
        }
    }

    func replicas(_ id: Int) throws -> [DeploymentReplica] {
        try database.query("""
            SELECT id, ordinal, status, updated_at FROM deployment_replicas WHERE deployment_id = $1 ORDER BY ordinal LIMIT 200
            """, [.int(Int64(id))]).map {
            DeploymentReplica(id: try $0.int("id"), ordinal: try $0.int("ordinal"),
                              status: ReplicaStatus(rawValue: try $0.string("status")) ?? .failed, updatedAt: try $0.date("updated_at"))
        }
    }

    /// The newest `limit` history rows, oldest first.
    func history(_ id: Int, limit: Int = 200) throws -> [DeploymentHistoryEntry] {
        try database.query("""
            SELECT old_status, new_status, changed_by, reason, created_at FROM deployment_status_history
            WHERE deployment_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2
            """, [.int(Int64(id)), .int(Int64(limit))]).map {
            DeploymentHistoryEntry(oldStatus: try $0.optionalString("old_status"), newStatus: try $0.string("new_status"),
                                   changedBy: try $0.string("changed_by"), reason: try $0.string("reason"), at: try $0.date("created_at"))
        }.reversed()
    }

    struct ChartPoint {
        var time: Date
        var requestsPerSecond: Double
        var errorRate: Double
        var p50: Double
        var p95: Double
        var p99: Double
    }

    /// Buckets since `since`, grouped in SQL into `width`-second steps, so a 7-day range sends
    /// at most `range / width` rows however many minutes are stored.
    func chartSeries(_ id: Int, since: Date, width: Int) throws -> [ChartPoint] {
        let group = "(" + database.dialect.epochMilliseconds("bucket") + " / $3)"
        let rows = try database.query("""
            SELECT \(group) AS g, SUM(requests) AS requests, SUM(errors) AS errors, COUNT(*) AS minutes,
                AVG(p50_ms) AS p50, AVG(p95_ms) AS p95, AVG(p99_ms) AS p99
            FROM inference_metrics WHERE deployment_id = $1 AND bucket >= $2 GROUP BY 1 ORDER BY 1
            """, [.int(Int64(id)), .date(since), .int(Int64(width) * 1000)])
        return try rows.map { row in
            let requests = Double(try row.int("requests")), minutes = Double(max(try row.int("minutes"), 1))
            return ChartPoint(time: Date(timeIntervalSince1970: Double(try row.int("g")) * Double(width)),
                              requestsPerSecond: requests / (minutes * 60),
                              errorRate: requests > 0 ? Double(try row.int("errors")) / requests : 0,
                              p50: try row.double("p50"), p95: try row.double("p95"), p99: try row.double("p99"))
        }
    }

    // MARK: Deploy

    enum CreateResult: Equatable {
        case created(id: Int, name: String, version: String)
        case alreadyLive
    }

    struct Choices: Equatable {
        /// nil: use the default name, `{model-slug}-{version}`, known only once the version is.
        var name: String?
        var replicas: Int
        var resources: DeploymentResources
    }

    /// Inserts the deployment (status `deploying`), its resources, pending replicas and first
    /// history row. The next version number is computed inside the transaction; two deploys of
    /// the same model racing for it make one of them retry. The partial unique index
    /// `deployments_one_live_per_job` settles two deploys of the same job.
    func create(_ job: TrainingJob, model: ModelRef, choices: Choices, by actor: Actor, now: Date) throws -> CreateResult {
        try DeploymentRules.check(replicas: choices.replicas, choices.resources)
        if let name = choices.name { try DeploymentRules.name.check(name) }
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try database.transaction { conn in
                    if try conn.queryOne("""
                        SELECT id FROM deployments WHERE job_id = $1 AND deleted_at IS NULL AND status IN \(Self.liveStatuses)
                        """, [.int(Int64(job.id))]) != nil {
                        return .alreadyLive
                    }
                    let number = try conn.queryOne("""
                        SELECT COALESCE(MAX(version_number), 0) + 1 AS n FROM deployments WHERE model_id = $1
                        """, [.int(Int64(model.id))])!.int("n")
                    let version = Self.versionName(number)
                    let name = choices.name ?? "\(model.slug)-\(version)"
                    let id = try Self.insert(conn, NewDeployment(
                        jobID: job.id, model: model, name: name, versionNumber: number, status: .deploying,
                        targetReplicas: choices.replicas, deployedBy: actor.username, createdAt: now, updatedAt: now), resources: choices.resources)
                    try Self.applyTarget(conn, id, target: choices.replicas, start: true, now: now)
                    try Self.recordHistory(conn, id, from: nil, to: .deploying, by: actor,
                                           reason: "deployed from training job #\(job.id) with \(Self.replicas(choices.replicas))", now: now)
                    try AuditStore.record(conn, actor, .deploymentCreate, target: "\(id)",
                                          details: "\(name) (\(version)) from job #\(job.id), \(Self.replicas(choices.replicas))", now: now)
                    return .created(id: id, name: name, version: version)
                }
            } catch let error as DatabaseError where error.isUniqueViolation(on: Schema.oneLiveDeploymentPerJob) {
                return .alreadyLive
            } catch let error as DatabaseError where error.isUniqueViolation(on: Self.versionConstraint) && attempt < 10 {
                continue   // another deploy of this model took the number; take the next one
            }
        }
    }

    static let versionConstraint = "deployments_model_id_version_number_key"

    static func versionName(_ number: Int) -> String { "v1.\(number).0" }
    static func endpoint(_ modelSlug: String, _ version: String) -> String { "/api/inference/\(modelSlug)/\(version)" }
    /// History reasons are written once and shown as they are: "1 replica", "3 replicas".
    static func replicas(_ n: Int) -> String { n == 1 ? "1 replica" : "\(n) replicas" }

    /// A deployment row with every column chosen by the caller (deploys, demo data, bulk loads).
    struct NewDeployment {
        var jobID: Int
        var model: ModelRef
        var name: String
        var versionNumber: Int
        var status: DeploymentStatus
        var targetReplicas: Int
        var deployedBy: String
        var createdAt: Date
        var updatedAt: Date
        var deletedAt: Date?
        var stats = DeploymentStats.zero
        var statsAt: Date?
    }

    private static let insertColumns = """
        deployments (job_id, model_id, model_name, name, version, version_number, status, endpoint, target_replicas,
            deployed_by, created_at, updated_at, deleted_at, rps, p50_ms, p95_ms, p99_ms, error_rate, stats_at)
        """

    private static func tuple(_ d: NewDeployment, _ p: inout SQLParameters) -> String {
        let version = versionName(d.versionNumber)
        return "(" + p.list([
            .int(Int64(d.jobID)), .int(Int64(d.model.id)), .text(d.model.name), .text(d.name), .text(version),
            .int(Int64(d.versionNumber)), .text(d.status.rawValue), .text(endpoint(d.model.slug, version)),
            .int(Int64(d.targetReplicas)), .text(d.deployedBy), .date(d.createdAt), .date(d.updatedAt), SQLValue(d.deletedAt),
            .double(d.stats.rps), .double(d.stats.p50), .double(d.stats.p95), .double(d.stats.p99), .double(d.stats.errorRate),
            SQLValue(d.statsAt),
        ]) + ")"
    }

    private static func resourcesTuple(_ id: Int, _ r: DeploymentResources, _ p: inout SQLParameters) -> String {
        "(" + p.list([.int(Int64(id)), .double(r.cpu), .int(Int64(r.memoryMB)), .int(Int64(r.gpu)), .int(Int64(r.storageGB))]) + ")"
    }

    /// Inserts the deployment and its resources, and counts it in its status unless deleted.
    static func insert(_ conn: DatabaseConnection, _ d: NewDeployment, resources: DeploymentResources) throws -> Int {
        var p = SQLParameters()
        let id = try conn.query("INSERT INTO \(insertColumns) VALUES \(tuple(d, &p)) RETURNING id", p.values)[0].int("id")
        var rp = SQLParameters()
        try conn.execute("INSERT INTO deployment_resources (deployment_id, cpu, memory_mb, gpu, storage_gb) VALUES \(resourcesTuple(id, resources, &rp))",
                         rp.values)
        if d.deletedAt == nil { try adjustCounts(conn, from: nil, to: d.status) }
        return id
    }

    /// A bulk-loaded deployment: the row, its resources, one replica and its first history row.
    struct BulkDeployment {
        var row: NewDeployment
        var resources: DeploymentResources
        var replicaStatus: ReplicaStatus
    }

    /// Inserts many deployments with four multi-row statements; their job ids must differ.
    /// The counters are not adjusted: call `recount` once at the end.
    static func insertMany(_ conn: DatabaseConnection, _ items: [BulkDeployment]) throws {
        var p = SQLParameters()
        let tuples = items.map { tuple($0.row, &p) }
        var idsByJob: [Int: Int] = [:]
        for row in try conn.query("INSERT INTO \(insertColumns) VALUES \(tuples.joined(separator: ", ")) RETURNING id, job_id", p.values) {
            idsByJob[try row.int("job_id")] = try row.int("id")
        }
        var resources = SQLParameters(), replicas = SQLParameters(), history = SQLParameters()
        var resourceTuples: [String] = [], replicaTuples: [String] = [], historyTuples: [String] = []
        for item in items {
            let id = idsByJob[item.row.jobID]!
            resourceTuples.append(resourcesTuple(id, item.resources, &resources))
            replicaTuples.append("(" + replicas.list([.int(Int64(id)), .int(1), .text(item.replicaStatus.rawValue),
                                                      .date(item.row.createdAt), .date(item.row.createdAt)]) + ")")
            historyTuples.append("(" + history.list([.int(Int64(id)), .null, .text(DeploymentStatus.deploying.rawValue),
                                                     .text(item.row.deployedBy), .text("bulk load"), .date(item.row.createdAt)]) + ")")
        }
        try conn.execute("INSERT INTO deployment_resources (deployment_id, cpu, memory_mb, gpu, storage_gb) VALUES \(resourceTuples.joined(separator: ", "))",
                         resources.values)
        try conn.execute("INSERT INTO deployment_replicas (deployment_id, ordinal, status, created_at, updated_at) VALUES \(replicaTuples.joined(separator: ", "))",
                         replicas.values)
        try conn.execute("""
            INSERT INTO deployment_status_history (deployment_id, old_status, new_status, changed_by, reason, created_at)
            VALUES \(historyTuples.joined(separator: ", "))
            """, history.values)
    }

    /// The highest version number each model has used, by model id.
    func highestVersions() throws -> [Int: Int] {
        var versions: [Int: Int] = [:]
        for row in try database.query("SELECT model_id, COALESCE(MAX(version_number), 0) AS n FROM deployments GROUP BY model_id", []) {
            versions[try row.int("model_id")] = try row.int("n")
        }
        return versions
    }

    // MARK: Lifecycle

    /// What a lifecycle action did; the web layer chooses the words.
    enum ChangeResult: Equatable {
        /// Done; the deployment as it was before the change.
        case changed(Deployment)
        /// Nothing to do (already so).
        case unchanged(Deployment)
        /// Not possible in the deployment's current status.
        case notAllowed(current: DeploymentStatus)
        case deleted
        case notFound
    }

    /// Runs `body` on the locked, live (not deleted) deployment inside one transaction.
    private func change(_ id: Int, _ body: (DatabaseConnection, Deployment) throws -> ChangeResult) throws -> ChangeResult {
        try database.transaction { conn in
            guard let row = try conn.queryOne("SELECT \(Self.columns) FROM \(Self.from) WHERE d.id = $1" + conn.dialect.lockRows(of: "d"),
                                              [.int(Int64(id))]) else {
                return .notFound
            }
            let deployment = try Self.decode(row)
            if deployment.isDeleted { return .deleted }
            return try body(conn, deployment)
        }
    }

    /// Active or deploying → paused: every replica stops and the figures clear.
    func pause(_ id: Int, by actor: Actor, now: Date) throws -> ChangeResult {
        try change(id) { conn, d in
            guard d.status == .active || d.status == .deploying else { return .notAllowed(current: d.status) }
            try conn.execute("""
                UPDATE deployments SET status = 'paused', updated_at = $2, rps = 0, p50_ms = 0, p95_ms = 0, p99_ms = 0,
                    error_rate = 0, stats_at = NULL WHERE id = $1
                """, [.int(Int64(id)), .date(now)])
            try Self.stopReplicas(conn, id, above: 0, now: now)
            try Self.recordHistory(conn, id, from: d.status, to: .paused, by: actor, reason: "paused: replicas stopped", now: now)
            try AuditStore.record(conn, actor, .deploymentPause, target: "\(id)", details: "\(d.name): \(d.status.rawValue) → paused", now: now)
            try Self.adjustCounts(conn, from: d.status, to: .paused)
            return .changed(d)
        }
    }

    /// Paused → deploying: the replicas start again and the runner makes it active when the
    /// first one runs, as for a new deployment, so "active" always means something is serving.
    func resume(_ id: Int, by actor: Actor, now: Date) throws -> ChangeResult {
        try change(id) { conn, d in
            guard d.status == .paused else { return .notAllowed(current: d.status) }
            try conn.execute("UPDATE deployments SET status = 'deploying', updated_at = $2 WHERE id = $1", [.int(Int64(id)), .date(now)])
            try Self.applyTarget(conn, id, target: d.targetReplicas, start: true, now: now)
            try Self.recordHistory(conn, id, from: .paused, to: .deploying, by: actor,
                                   reason: "resumed: starting \(Self.replicas(d.targetReplicas))", now: now)
            try AuditStore.record(conn, actor, .deploymentResume, target: "\(id)", details: "\(d.name): paused → deploying", now: now)
            try Self.adjustCounts(conn, from: .paused, to: .deploying)
            return .changed(d)
        }
    }

    /// Any status but failed: replicas above `target` stop, missing ones start (or wait for
    /// resume when paused).
    func scale(_ id: Int, to target: Int, by actor: Actor, now: Date) throws -> ChangeResult {
        try DeploymentRules.replicas.check(target)
        return try change(id) { conn, d in
            guard d.status != .failed else { return .notAllowed(current: d.status) }
            guard target != d.targetReplicas else { return .unchanged(d) }
            try conn.execute("UPDATE deployments SET target_replicas = $2, updated_at = $3 WHERE id = $1",
                             [.int(Int64(id)), .int(Int64(target)), .date(now)])
            try Self.applyTarget(conn, id, target: target, start: d.status != .paused, now: now)
            try Self.recordHistory(conn, id, from: d.status, to: d.status, by: actor,
                                   reason: "scaled from \(d.targetReplicas) to \(Self.replicas(target))", now: now)
            try AuditStore.record(conn, actor, .deploymentScale, target: "\(id)", details: "\(d.name): replicas \(d.targetReplicas) → \(target)", now: now)
            return .changed(d)
        }
    }

    /// Soft delete: the row stays (with its history) for the detail page; lists skip it.
    func delete(_ id: Int, by actor: Actor, now: Date) throws -> ChangeResult {
        try change(id) { conn, d in
            try conn.execute("""
                UPDATE deployments SET deleted_at = $2, updated_at = $2, rps = 0, p50_ms = 0, p95_ms = 0, p99_ms = 0,
                    error_rate = 0, stats_at = NULL WHERE id = $1
                """, [.int(Int64(id)), .date(now)])
            try Self.stopReplicas(conn, id, above: 0, now: now)
            try Self.recordHistory(conn, id, from: d.status, to: d.status, by: actor, reason: "deleted", now: now)
            try AuditStore.record(conn, actor, .deploymentDelete, target: "\(id)", details: "\(d.name) (was \(d.status.rawValue))", now: now)
            try Self.adjustCounts(conn, from: d.status, to: nil)
            return .changed(d)
        }
    }

    // MARK: Shared steps (inside a transaction)

    static func recordHistory(_ conn: DatabaseConnection, _ id: Int, from old: DeploymentStatus?, to new: DeploymentStatus,
                              by actor: Actor, reason: String, now: Date) throws {
        try conn.execute("""
            INSERT INTO deployment_status_history (deployment_id, old_status, new_status, changed_by, reason, created_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            """, [.int(Int64(id)), SQLValue(old?.rawValue), .text(new.rawValue), .text(actor.username), .text(reason), .date(now)])
    }

    static func insertReplica(_ conn: DatabaseConnection, _ id: Int, ordinal: Int, status: ReplicaStatus, now: Date) throws {
        try conn.execute("""
            INSERT INTO deployment_replicas (deployment_id, ordinal, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
            """, [.int(Int64(id)), .int(Int64(ordinal)), .text(status.rawValue), .date(now)])
    }

    /// Makes replicas 1…target the wanted set: those above it stop; with `start`, the wanted ones
    /// that are not live become pending (new ordinals are inserted); without it (paused), new
    /// ordinals are recorded as stopped and start on resume.
    static func applyTarget(_ conn: DatabaseConnection, _ id: Int, target: Int, start: Bool, now: Date) throws {
        try stopReplicas(conn, id, above: target, now: now)
        if start {
            try conn.execute("""
                UPDATE deployment_replicas SET status = 'pending', updated_at = $3
                WHERE deployment_id = $1 AND ordinal <= $2 AND status IN ('stopping', 'stopped', 'failed')
                """, [.int(Int64(id)), .int(Int64(target)), .date(now)])
        }
        let highest = try conn.queryOne("SELECT COALESCE(MAX(ordinal), 0) AS n FROM deployment_replicas WHERE deployment_id = $1",
                                        [.int(Int64(id))])!.int("n")
        if highest < target {
            for ordinal in (highest + 1)...target {
                try insertReplica(conn, id, ordinal: ordinal, status: start ? .pending : .stopped, now: now)
            }
        }
    }

    /// Replicas with an ordinal above `above` that are live begin stopping; the runner finishes it.
    static func stopReplicas(_ conn: DatabaseConnection, _ id: Int, above: Int, now: Date) throws {
        try conn.execute("""
            UPDATE deployment_replicas SET status = 'stopping', updated_at = $3
            WHERE deployment_id = $1 AND ordinal > $2 AND status IN ('pending', 'starting', 'running')
            """, [.int(Int64(id)), .int(Int64(above)), .date(now)])
    }

    /// Writes the inference bucket for `minute` (once: a second call keeps the first) and puts it
    /// on the deployment row as the latest window.
    @discardableResult
    static func recordStats(_ conn: DatabaseConnection, _ d: Deployment, minute: Int) throws -> InferenceSimulator.Bucket {
        let running = try conn.queryOne("""
            SELECT COUNT(*) AS n FROM deployment_replicas WHERE deployment_id = $1 AND status = 'running'
            """, [.int(Int64(d.id))])!.int("n")
        var bucket = InferenceSimulator().bucket(
            deploymentID: d.id, seed: d.jobSeed, sizeClass: d.sizeClass, runningReplicas: running, minute: minute,
            activeSinceMinute: Int((d.createdAt.timeIntervalSince1970 / 60).rounded(.down)))
        if try !insertBucket(conn, d.id, bucket), let stored = try conn.queryOne("""
            SELECT requests, errors, p50_ms, p95_ms, p99_ms FROM inference_metrics WHERE deployment_id = $1 AND bucket = $2
            """, [.int(Int64(d.id)), .date(bucket.start)]) {
            bucket = .init(minute: minute, requests: try stored.int("requests"), errors: try stored.int("errors"),
                           p50: try stored.double("p50_ms"), p95: try stored.double("p95_ms"), p99: try stored.double("p99_ms"))
        }
        try setLatestStats(conn, d.id, bucket)
        return bucket
    }

    /// Stores one minute's figures; false when that minute was already stored (which is kept).
    @discardableResult
    static func insertBucket(_ conn: DatabaseConnection, _ id: Int, _ bucket: InferenceSimulator.Bucket) throws -> Bool {
        try conn.execute("""
            INSERT INTO inference_metrics (deployment_id, bucket, requests, errors, p50_ms, p95_ms, p99_ms)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (deployment_id, bucket) DO NOTHING
            """, [.int(Int64(id)), .date(bucket.start), .int(Int64(bucket.requests)), .int(Int64(bucket.errors)),
                  .double(bucket.p50), .double(bucket.p95), .double(bucket.p99)]) > 0
    }

    static func setLatestStats(_ conn: DatabaseConnection, _ id: Int, _ bucket: InferenceSimulator.Bucket) throws {
        try conn.execute("""
            UPDATE deployments SET rps = $2, p50_ms = $3, p95_ms = $4, p99_ms = $5, error_rate = $6, stats_at = $7 WHERE id = $1
            """, [.int(Int64(id)), .double(bucket.requestsPerSecond), .double(bucket.p50), .double(bucket.p95),
                  .double(bucket.p99), .double(bucket.errorRate), .date(bucket.start)])
    }

    // MARK: Counters

    static func adjustCounts(_ conn: DatabaseConnection, from old: DeploymentStatus?, to new: DeploymentStatus?) throws {
        if let old { try conn.execute("UPDATE deployment_status_counts SET count = count - 1 WHERE status = $1", [.text(old.rawValue)]) }
        if let new { try conn.execute("UPDATE deployment_status_counts SET count = count + 1 WHERE status = $1", [.text(new.rawValue)]) }
    }

    /// Rebuilds the counters from the rows (after bulk loads).
    static func recount(_ conn: DatabaseConnection) throws {
        try conn.execute("""
            UPDATE deployment_status_counts SET count =
              (SELECT COUNT(*) FROM deployments d WHERE d.status = deployment_status_counts.status AND d.deleted_at IS NULL)
            """, [])
    }
}
