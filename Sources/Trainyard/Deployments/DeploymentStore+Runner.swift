import Foundation
import Storage

/// The SQL of `DeploymentRunner`'s steps, each inside the runner's transaction. Rows are claimed
/// with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several `serve` processes never move the same
/// replica or write the same bucket twice.
extension DeploymentStore {
    /// Replicas whose time in a transitional state is up, as of `due` per state. No ORDER BY: it
    /// would make SQLite scan every replica in id order instead of reading the three
    /// (status, time) ranges from `deployment_replicas_status_updated_idx`.
    struct DueReplica {
        var id: Int
        var deploymentID: Int
        var revision: Int
        var ordinal: Int
        var status: ReplicaStatus
        var restarts: Int
    }

    static func claimDueReplicas(_ conn: DatabaseConnection, pendingBefore: Date, startingBefore: Date, stoppingBefore: Date,
                                 limit: Int) throws -> [DueReplica] {
        try conn.query("""
            SELECT id, deployment_id, revision, ordinal, status, restarts FROM deployment_replicas
            WHERE (status = 'pending' AND updated_at <= $1) OR (status = 'starting' AND updated_at <= $2)
               OR (status = 'stopping' AND updated_at <= $3)
            LIMIT $4
            """ + conn.dialect.lockRows(of: nil, .skipLocked),
            [.date(pendingBefore), .date(startingBefore), .date(stoppingBefore), .int(Int64(limit))]).map {
            DueReplica(id: try $0.int("id"), deploymentID: try $0.int("deployment_id"), revision: try $0.int("revision"),
                       ordinal: try $0.int("ordinal"), status: ReplicaStatus(rawValue: try $0.string("status")) ?? .failed,
                       restarts: try $0.int("restarts"))
        }
    }

    /// What decides whether a replica of `revision` starts: its model's size, its resources, the job's seed.
    struct ReplicaConfig {
        var sizeClass: SizeClass
        var resources: DeploymentResources
        var seed: Int
    }

    static func replicaConfig(_ conn: DatabaseConnection, _ id: Int, revision: Int) throws -> ReplicaConfig? {
        try conn.queryOne("""
            SELECT m.size_class, v.cpu, v.memory_mb, v.gpu, v.storage_gb, j.seed
            FROM deployments d JOIN models m ON m.id = d.model_id JOIN training_jobs j ON j.id = d.job_id
            JOIN deployment_revisions v ON v.deployment_id = d.id AND v.number = $2
            WHERE d.id = $1
            """, [.int(Int64(id)), .int(Int64(revision))]).map {
            ReplicaConfig(sizeClass: SizeClass(rawValue: try $0.string("size_class")) ?? .small,
                          resources: DeploymentResources(cpu: try $0.double("cpu"), memoryMB: try $0.int("memory_mb"),
                                                         gpu: try $0.int("gpu"), storageGB: try $0.int("storage_gb")),
                          seed: try $0.int("seed"))
        }
    }

    /// The first replica of a start or rollout is starting: the start deadline counts from now.
    static func startDeadlineClock(_ conn: DatabaseConnection, _ id: Int, now: Date) throws {
        try conn.execute("""
            UPDATE deployments SET rollout_started_at = $2
            WHERE id = $1 AND rollout_started_at IS NULL AND (status = 'deploying' OR rollout_revision IS NOT NULL)
            """, [.int(Int64(id)), .date(now)])
    }

    /// A start that failed: with `retryAt` the runner starts it again then; without, it stays failed.
    static func failReplica(_ conn: DatabaseConnection, _ id: Int, reason: String, retryAt: Date?, now: Date) throws {
        try conn.execute("UPDATE deployment_replicas SET status = 'failed', last_failure = $2, retry_at = $3, updated_at = $4 WHERE id = $1",
                         [.int(Int64(id)), .text(reason), SQLValue(retryAt), .date(now)])
    }

    /// Failed replicas whose backoff is over start again, one more restart on their count.
    static func restartDueReplicas(_ conn: DatabaseConnection, now: Date) throws -> Int {
        try conn.execute("""
            UPDATE deployment_replicas SET status = 'pending', restarts = restarts + 1, retry_at = NULL, updated_at = $1
            WHERE retry_at IS NOT NULL AND retry_at <= $1 AND status = 'failed'
            """, [.date(now)])
    }

    /// Deploying deployments and those with a rollout under way (a partial index holds just them).
    static func claimInRollout(_ conn: DatabaseConnection, limit: Int) throws -> [Deployment] {
        try conn.query("""
            SELECT \(columns) FROM \(from)
            WHERE d.deleted_at IS NULL AND (d.status = 'deploying' OR d.rollout_revision IS NOT NULL)
            ORDER BY d.id LIMIT $1
            """ + conn.dialect.lockRows(of: "d", .skipLocked), [.int(Int64(limit))]).map(decode)
    }

    /// How a revision's replicas stand: how many are wanted and running, and the failures.
    struct ReplicaState {
        var wanted: Int
        var running: Int
        var permanentlyFailed: Int
        /// "replica 2: out of memory: needs ≥ 8192 MB" for the first that will not be retried.
        var permanentFailure: String?
        var lastFailure: String?
    }

    static func replicaState(_ conn: DatabaseConnection, _ id: Int, revision: Int) throws -> ReplicaState {
        let wanted = try conn.queryOne("SELECT replicas FROM deployment_revisions WHERE deployment_id = $1 AND number = $2",
                                       [.int(Int64(id)), .int(Int64(revision))])?.int("replicas") ?? 0
        var state = ReplicaState(wanted: wanted, running: 0, permanentlyFailed: 0)
        for row in try conn.query("""
            SELECT ordinal, status, last_failure, retry_at FROM deployment_replicas
            WHERE deployment_id = $1 AND revision = $2 AND ordinal <= $3 ORDER BY ordinal
            """, [.int(Int64(id)), .int(Int64(revision)), .int(Int64(wanted))]) {
            let status = ReplicaStatus(rawValue: try row.string("status"))
            let failure = try row.optionalString("last_failure")
            if status == .running { state.running += 1 }
            if let failure { state.lastFailure = "replica \(try row.int("ordinal")): \(failure)" }
            if status == .failed, try row.optionalDate("retry_at") == nil {
                state.permanentlyFailed += 1
                if state.permanentFailure == nil {
                    state.permanentFailure = "replica \(try row.int("ordinal")): \(failure ?? "failed to start")"
                }
            }
        }
        return state
    }

    /// Deploying → failed, with the reason on the row and in history.
    static func fail(_ conn: DatabaseConnection, _ d: Deployment, reason: String, now: Date) throws {
        try conn.execute("""
            UPDATE deployments SET status = 'failed', failure_reason = $2, updated_at = $3, rollout_started_at = NULL WHERE id = $1
            """, [.int(Int64(d.id)), .text(reason), .date(now)])
        try stopReplicas(conn, d.id, now: now)
        try recordHistory(conn, d.id, .fail, from: d.status, to: .failed, revision: d.revision, replicas: d.targetReplicas,
                          by: .system, reason: reason, now: now)
        try AuditStore.record(conn, .system, .deploymentFail, target: "\(d.id)", details: "\(d.name): \(reason)", now: now)
        try adjustCounts(conn, from: d.status, to: .failed)
    }

    /// Every new replica runs: the new revision serves and the old replicas stop.
    static func completeRollout(_ conn: DatabaseConnection, _ d: Deployment, revision number: Int, now: Date) throws {
        guard let revision = try revision(conn, d.id, number) else { return }
        try stopReplicas(conn, d.id, exceptRevision: number, now: now)
        try adopt(conn, d, revision, now: now)
        try conn.execute("UPDATE deployments SET rollout_revision = NULL, rollout_started_at = NULL WHERE id = $1", [.int(Int64(d.id))])
        try recordHistory(conn, d.id, .rollout, from: d.status, to: d.status, revision: number, replicas: revision.replicas, by: .system,
                          reason: "revision \(number) is serving with \(replicas(revision.replicas)); revision \(d.revision) stopped", now: now)
        try AuditStore.record(conn, .system, .deploymentRollout, target: "\(d.id)", details: "\(d.name): revision \(number) rolled out", now: now)
    }

    /// A new revision that cannot start: its replicas stop and the old revision keeps serving.
    static func failRollout(_ conn: DatabaseConnection, _ d: Deployment, revision number: Int, reason: String, now: Date) throws {
        try conn.execute("""
            UPDATE deployment_replicas SET status = 'stopping', updated_at = $3, retry_at = NULL
            WHERE deployment_id = $1 AND revision = $2 AND status IN ('pending', 'starting', 'running')
            """, [.int(Int64(d.id)), .int(Int64(number)), .date(now)])
        try conn.execute("UPDATE deployment_replicas SET retry_at = NULL WHERE deployment_id = $1 AND revision = $2",
                         [.int(Int64(d.id)), .int(Int64(number))])
        try conn.execute("UPDATE deployment_revisions SET failed_reason = $3 WHERE deployment_id = $1 AND number = $2 AND failed_reason IS NULL",
                         [.int(Int64(d.id)), .int(Int64(number)), .text(reason)])
        try conn.execute("UPDATE deployments SET rollout_revision = NULL, rollout_started_at = NULL, updated_at = $2 WHERE id = $1",
                         [.int(Int64(d.id)), .date(now)])
        try recordHistory(conn, d.id, .rolloutFailed, from: d.status, to: d.status, revision: d.revision, replicas: d.targetReplicas,
                          by: .system, reason: "revision \(number) did not roll out: \(reason); revision \(d.revision) keeps serving", now: now)
        try AuditStore.record(conn, .system, .deploymentRollout, target: "\(d.id)", details: "\(d.name): revision \(number) failed: \(reason)", now: now)
    }

    static func setReplicaStatus(_ conn: DatabaseConnection, replica id: Int, to status: ReplicaStatus, now: Date) throws {
        try conn.execute("UPDATE deployment_replicas SET status = $2, updated_at = $3 WHERE id = $1",
                         [.int(Int64(id)), .text(status.rawValue), .date(now)])
    }

    /// Deploying deployments that have a running replica.
    static func claimReadyToActivate(_ conn: DatabaseConnection, limit: Int) throws -> [Deployment] {
        try conn.query("""
            SELECT \(columns) FROM \(from)
            WHERE d.deleted_at IS NULL AND d.status = 'deploying'
              AND EXISTS (SELECT 1 FROM deployment_replicas r WHERE r.deployment_id = d.id AND r.status = 'running')
            ORDER BY d.id LIMIT $1
            """ + conn.dialect.lockRows(of: "d", .skipLocked), [.int(Int64(limit))]).map(decode)
    }

    /// Deploying → active, with its history row and counters. A deployment made by a rollback
    /// to its version stops the one it replaces now that it serves.
    static func activate(_ conn: DatabaseConnection, _ d: Deployment, now: Date) throws {
        try conn.execute("UPDATE deployments SET status = 'active', updated_at = $2, rollout_started_at = NULL, replaces_id = NULL WHERE id = $1",
                         [.int(Int64(d.id)), .date(now)])
        try recordHistory(conn, d.id, .activate, from: .deploying, to: .active, revision: d.revision, replicas: d.targetReplicas,
                          by: .system, reason: "first replica running", now: now)
        try AuditStore.record(conn, .system, .deploymentActivate, target: "\(d.id)", details: "\(d.name): first replica running", now: now)
        try adjustCounts(conn, from: .deploying, to: .active)
        if let replacedID = d.replacesID, let replaced = try lockedDeployment(conn, replacedID), !replaced.isDeleted,
           replaced.status == .active || replaced.status == .deploying {
            try pause(conn, replaced, by: .system, event: .replaced, reason: "replaced by \(d.name) (\(d.version)), now serving", now: now)
        }
    }

    /// A deployment due for its minute's figures, with what writing them reads: its running
    /// replicas and whether it has guardrails. Read with the claim, these were two more
    /// statements per bucket (two more round trips on PostgreSQL, 70,000 times a minute on a
    /// 100,000-row table).
    struct DueForStats {
        let deployment: Deployment
        let runningReplicas: Int
        let guarded: Bool
    }

    /// Active simulated deployments after `afterID` whose latest figures are older than `minuteStart`.
    static func claimDueForStats(_ conn: DatabaseConnection, minuteStart: Date, afterID: Int, limit: Int) throws -> [DueForStats] {
        try conn.query("""
            SELECT \(columns),
                \(runningReplicasOfRow) AS due_running,
                EXISTS (SELECT 1 FROM deployment_guardrails g WHERE g.deployment_id = d.id) AS due_guarded
            FROM \(from)
            WHERE d.deleted_at IS NULL AND d.status = 'active' AND d.metrics_source = 'simulated' AND d.id > $2
              AND (d.stats_at IS NULL OR d.stats_at < $1)
            ORDER BY d.id LIMIT $3
            """ + conn.dialect.lockRows(of: "d", .skipLocked), [.date(minuteStart), .int(Int64(afterID)), .int(Int64(limit))]).map { row in
            DueForStats(deployment: try decode(row), runningReplicas: try row.int("due_running"), guarded: try row.bool("due_guarded"))
        }
    }

    /// Deletes at most `limit` buckets older than `cutoff`, oldest first, found through
    /// `inference_metrics_bucket_idx`. The order and the outer `bucket <` keep both scans on that
    /// index whatever the planner believes about the table: without them PostgreSQL, with
    /// statistics from before a bulk load of buckets, scanned the whole table every tick (1.6 s a
    /// statement at 140,000 buckets, with nothing to delete).
    static func pruneBuckets(_ conn: DatabaseConnection, before cutoff: Date, limit: Int) throws -> Int {
        try conn.execute("""
            DELETE FROM inference_metrics WHERE bucket < $1 AND (deployment_id, bucket) IN
              (SELECT deployment_id, bucket FROM inference_metrics WHERE bucket < $1 ORDER BY bucket LIMIT $2)
            """, [.date(cutoff), .int(Int64(limit))])
    }
}
