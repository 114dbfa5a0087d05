import Foundation
import Storage

/// SQL for deployments, their resources, replicas, status history and inference buckets.
///
/// Every status change, scale and soft delete runs in one transaction that also writes the
/// history row and adjusts `deployment_status_counts`.
struct DeploymentStore {
    let database: Database

    /// Who made a change: there are no user accounts, so a stable label per actor.
    static let webActor = "web"
    static let runnerActor = "runner"

    static let columns = """
        d.id, d.job_id, j.name AS job_name, j.seed AS job_seed, d.model_id, m.slug AS model_slug, d.model_name, m.size_class,
        d.name, d.version, d.status, d.endpoint, d.target_replicas, d.deployed_by, d.created_at, d.updated_at, d.deleted_at,
        d.rps, d.p50_ms, d.p95_ms, d.p99_ms, d.error_rate, d.stats_at
        """
    static let from = "deployments d JOIN training_jobs j ON j.id = d.job_id JOIN models m ON m.id = d.model_id"

    static func decode(_ row: Row) throws -> Deployment {
        Deployment(
            id: try row.int("id"), jobID: try row.int("job_id"), jobName: try row.string("job_name"), jobSeed: try row.int("job_seed"),
            modelID: try row.int("model_id"), modelSlug: try row.string("model_slug"), modelName: try row.string("model_name"),
            sizeClass: SizeClass(rawValue: try row.string("size_class")) ?? .small, name: try row.string("name"),
            version: try row.string("version"), status: DeploymentStatus(rawValue: try row.string("status")) ?? .failed,
            endpoint: try row.string("endpoint"), targetReplicas: try row.int("target_replicas"), deployedBy: try row.string("deployed_by"),
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"), deletedAt: try row.optionalDate("deleted_at"),
            rps: try row.double("rps"), p50: try row.double("p50_ms"), p95: try row.double("p95_ms"), p99: try row.double("p99_ms"),
            errorRate: try row.double("error_rate"), statsAt: try row.optionalDate("stats_at"))
    }

    /// The deployment, deleted or not.
    func find(_ id: Int) throws -> Deployment? {
        try database.queryOne("SELECT \(Self.columns) FROM \(Self.from) WHERE d.id = $1", [.int(Int64(id))]).map(Self.decode)
    }

    // MARK: Deploy

    /// A completed job as the deploy form needs it.
    struct DeployableJob {
        var id: Int
        var name: String
        var status: JobStatus
        var modelID: Int
        var modelSlug: String
        var modelName: String
        var sizeClass: SizeClass
    }

    func job(_ id: Int) throws -> DeployableJob? {
        try database.queryOne("""
            SELECT j.id, j.name, j.status, j.model_id, m.slug, m.name AS model_name, m.size_class
            FROM training_jobs j JOIN models m ON m.id = j.model_id WHERE j.id = $1
            """, [.int(Int64(id))]).map {
            DeployableJob(id: try $0.int("id"), name: try $0.string("name"), status: JobStatus(rawValue: try $0.string("status")) ?? .failed,
                          modelID: try $0.int("model_id"), modelSlug: try $0.string("slug"), modelName: try $0.string("model_name"),
                          sizeClass: SizeClass(rawValue: try $0.string("size_class")) ?? .small)
        }
    }

    /// The job's live (deploying/active/paused, not deleted) deployment, if any.
    func liveDeployment(forJob jobID: Int) throws -> Int? {
        try database.queryOne("""
            SELECT id FROM deployments WHERE job_id = $1 AND deleted_at IS NULL AND status IN ('deploying', 'active', 'paused')
            """, [.int(Int64(jobID))]).map { try $0.int("id") }
    }

    enum CreateResult: Equatable {
        case created(id: Int, name: String, version: String)
        case alreadyLive
    }

    /// Inserts the deployment (status `deploying`), its resources, pending replicas and first
    /// history row. The next version number is computed inside the transaction; two deploys of
    /// the same model racing for it make one of them retry. The partial unique index
    /// `deployments_one_live_per_job` settles two deploys of the same job.
    func create(_ job: DeployableJob, choices: DeploymentForm.Choices, by actor: String, now: Date) throws -> CreateResult {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try database.transaction { conn in
                    if try conn.queryOne("""
                        SELECT id FROM deployments WHERE job_id = $1 AND deleted_at IS NULL AND status IN ('deploying', 'active', 'paused')
                        """, [.int(Int64(job.id))]) != nil {
                        return .alreadyLive
                    }
                    let number = try conn.queryOne("""
                        SELECT COALESCE(MAX(version_number), 0) + 1 AS n FROM deployments WHERE model_id = $1
                        """, [.int(Int64(job.modelID))])!.int("n")
                    let version = "v1.\(number).0"
                    let name = choices.name ?? "\(job.modelSlug)-\(version)"
                    let endpoint = "/api/inference/\(job.modelSlug)/\(version)"
                    let rows = try conn.query("""
                        INSERT INTO deployments (job_id, model_id, model_name, name, version, version_number, status, endpoint,
                            target_replicas, deployed_by, created_at, updated_at)
                        VALUES ($1, $2, $3, $4, $5, $6, 'deploying', $7, $8, $9, $10, $10) RETURNING id
                        """, [.int(Int64(job.id)), .int(Int64(job.modelID)), .text(job.modelName), .text(name), .text(version),
                              .int(Int64(number)), .text(endpoint), .int(Int64(choices.replicas)), .text(actor), .date(now)])
                    let id = try rows[0].int("id")
                    let r = choices.resources
                    try conn.execute("""
                        INSERT INTO deployment_resources (deployment_id, cpu, memory_mb, gpu, storage_gb) VALUES ($1, $2, $3, $4, $5)
                        """, [.int(Int64(id)), .double(r.cpu), .int(Int64(r.memoryMB)), .int(Int64(r.gpu)), .int(Int64(r.storageGB))])
                    try Self.applyTarget(conn, id, target: choices.replicas, start: true, now: now)
                    try Self.history(conn, id, from: nil, to: .deploying, by: actor,
                                     reason: "deployed from training job #\(job.id) with \(Self.replicas(choices.replicas))", now: now)
                    try StatusCounters.adjustDeployments(conn, from: nil, to: .deploying)
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

    // MARK: Lifecycle

    enum ChangeResult: Equatable {
        case changed(String)
        case unchanged(String)
        case notAllowed(String)
        case deleted
        case notFound
    }

    /// Runs `body` on the locked, live (not deleted) deployment inside one transaction.
    private func change(_ id: Int, _ body: (DatabaseConnection, Deployment) throws -> ChangeResult) throws -> ChangeResult {
        try database.transaction { conn in
            let lock = conn.dialect == .postgres ? " FOR UPDATE OF d" : ""
            guard let row = try conn.queryOne("SELECT \(Self.columns) FROM \(Self.from) WHERE d.id = $1\(lock)", [.int(Int64(id))]) else {
                return .notFound
            }
            let deployment = try Self.decode(row)
            if deployment.isDeleted { return .deleted }
            return try body(conn, deployment)
        }
    }

    func pause(_ id: Int, by actor: String, now: Date) throws -> ChangeResult {
        try change(id) { conn, d in
            guard d.status == .active || d.status == .deploying else {
                return .notAllowed("Only active or deploying deployments can be paused; this one is \(d.status.rawValue).")
            }
            try conn.execute("""
                UPDATE deployments SET status = 'paused', updated_at = $2, rps = 0, p50_ms = 0, p95_ms = 0, p99_ms = 0,
                    error_rate = 0, stats_at = NULL WHERE id = $1
                """, [.int(Int64(id)), .date(now)])
            try Self.stopReplicas(conn, id, above: 0, now: now)
            try Self.history(conn, id, from: d.status, to: .paused, by: actor, reason: "paused: replicas stopped", now: now)
            try StatusCounters.adjustDeployments(conn, from: d.status, to: .paused)
            return .changed("Deployment \(d.name) paused")
        }
    }

    /// Paused → deploying: the replicas start again and the runner makes it active when the
    /// first one runs, as for a new deployment, so "active" always means something is serving.
    func resume(_ id: Int, by actor: String, now: Date) throws -> ChangeResult {
        try change(id) { conn, d in
            guard d.status == .paused else {
                return .notAllowed("Only paused deployments can be resumed; this one is \(d.status.rawValue).")
            }
            try conn.execute("UPDATE deployments SET status = 'deploying', updated_at = $2 WHERE id = $1", [.int(Int64(id)), .date(now)])
            try Self.applyTarget(conn, id, target: d.targetReplicas, start: true, now: now)
            try Self.history(conn, id, from: .paused, to: .deploying, by: actor,
                             reason: "resumed: starting \(Self.replicas(d.targetReplicas))", now: now)
            try StatusCounters.adjustDeployments(conn, from: .paused, to: .deploying)
            return .changed("Deployment \(d.name) resuming")
        }
    }

    func scale(_ id: Int, to target: Int, by actor: String, now: Date) throws -> ChangeResult {
        precondition(DeploymentResources.replicaRange.contains(target))
        return try change(id) { conn, d in
            guard d.status != .failed else {
                return .notAllowed("A failed deployment cannot be scaled; delete it and deploy the job again.")
            }
            guard target != d.targetReplicas else {
                return .unchanged("Deployment \(d.name) already has \(Self.replicas(target))")
            }
            try conn.execute("UPDATE deployments SET target_replicas = $2, updated_at = $3 WHERE id = $1",
                             [.int(Int64(id)), .int(Int64(target)), .date(now)])
            try Self.applyTarget(conn, id, target: target, start: d.status != .paused, now: now)
            try Self.history(conn, id, from: d.status, to: d.status, by: actor,
                             reason: "scaled from \(d.targetReplicas) to \(Self.replicas(target))", now: now)
            return .changed("Deployment \(d.name) scaled to \(Self.replicas(target))")
        }
    }

    /// Soft delete: the row stays (with its history) for the detail page; lists skip it.
    func delete(_ id: Int, by actor: String, now: Date) throws -> ChangeResult {
        try change(id) { conn, d in
            try conn.execute("""
                UPDATE deployments SET deleted_at = $2, updated_at = $2, rps = 0, p50_ms = 0, p95_ms = 0, p99_ms = 0,
                    error_rate = 0, stats_at = NULL WHERE id = $1
                """, [.int(Int64(id)), .date(now)])
            try Self.stopReplicas(conn, id, above: 0, now: now)
            try Self.history(conn, id, from: d.status, to: d.status, by: actor, reason: "deleted", now: now)
            try StatusCounters.adjustDeployments(conn, from: d.status, to: nil)
            return .changed("Deployment \(d.name) deleted")
        }
    }

    static func replicas(_ n: Int) -> String { n == 1 ? "1 replica" : "\(n) replicas" }

    // MARK: Shared steps (inside a transaction)

    static func history(_ conn: DatabaseConnection, _ id: Int, from old: DeploymentStatus?, to new: DeploymentStatus,
                        by actor: String, reason: String, now: Date) throws {
        try conn.execute("""
            INSERT INTO deployment_status_history (deployment_id, old_status, new_status, changed_by, reason, created_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            """, [.int(Int64(id)), SQLValue(old?.rawValue), .text(new.rawValue), .text(actor), .text(reason), .date(now)])
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
                try conn.execute("""
                    INSERT INTO deployment_replicas (deployment_id, ordinal, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
                    """, [.int(Int64(id)), .int(Int64(ordinal)), .text(start ? "pending" : "stopped"), .date(now)])
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
        let at = Date(timeIntervalSince1970: Double(minute) * 60)
        let inserted = try conn.execute("""
            INSERT INTO inference_metrics (deployment_id, bucket, requests, errors, p50_ms, p95_ms, p99_ms)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (deployment_id, bucket) DO NOTHING
            """, [.int(Int64(d.id)), .date(at), .int(Int64(bucket.requests)), .int(Int64(bucket.errors)),
                  .double(bucket.p50), .double(bucket.p95), .double(bucket.p99)])
        if inserted == 0, let row = try conn.queryOne("""
            SELECT requests, errors, p50_ms, p95_ms, p99_ms FROM inference_metrics WHERE deployment_id = $1 AND bucket = $2
            """, [.int(Int64(d.id)), .date(at)]) {
            bucket = .init(minute: minute, requests: try row.int("requests"), errors: try row.int("errors"),
                           p50: try row.double("p50_ms"), p95: try row.double("p95_ms"), p99: try row.double("p99_ms"))
        }
        try conn.execute("""
            UPDATE deployments SET rps = $2, p50_ms = $3, p95_ms = $4, p99_ms = $5, error_rate = $6, stats_at = $7 WHERE id = $1
            """, [.int(Int64(d.id)), .double(bucket.requestsPerSecond), .double(bucket.p50), .double(bucket.p95),
                  .double(bucket.p99), .double(bucket.errorRate), .date(at)])
        return bucket
    }

    // MARK: Detail page reads

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
        let widthMs = Int64(width) * 1000
        // Timestamps are integer milliseconds on SQLite and TIMESTAMPTZ on PostgreSQL.
        let group = database.dialect == .postgres
            ? "CAST(FLOOR(EXTRACT(EPOCH FROM bucket) * 1000 / $3) AS BIGINT)"
            : "(bucket / $3)"
        let rows = try database.query("""
            SELECT \(group) AS g, SUM(requests) AS requests, SUM(errors) AS errors, COUNT(*) AS minutes,
                AVG(p50_ms) AS p50, AVG(p95_ms) AS p95, AVG(p99_ms) AS p99
            FROM inference_metrics WHERE deployment_id = $1 AND bucket >= $2 GROUP BY 1 ORDER BY 1
            """, [.int(Int64(id)), .date(since), .int(widthMs)])
        return try rows.map { row in
            let requests = Double(try row.int("requests")), minutes = Double(max(try row.int("minutes"), 1))
            return ChartPoint(time: Date(timeIntervalSince1970: Double(try row.int("g")) * Double(width)),
                              requestsPerSecond: requests / (minutes * 60),
                              errorRate: requests > 0 ? Double(try row.int("errors")) / requests : 0,
                              p50: try row.double("p50"), p95: try row.double("p95"), p99: try row.double("p99"))
        }
    }
}
