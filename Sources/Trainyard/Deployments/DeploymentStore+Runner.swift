import Foundation
import Storage

/// The SQL of `DeploymentRunner`'s steps, each inside the runner's transaction. Rows are claimed
/// with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several `serve` processes never move the same
/// replica or write the same bucket twice.
extension DeploymentStore {
    /// Replicas whose time in a transitional state is up, as of `due` per state. No ORDER BY: it
    /// would make SQLite scan every replica in id order instead of reading the three
    /// (status, time) ranges from `deployment_replicas_status_updated_idx`.
    static func claimDueReplicas(_ conn: DatabaseConnection, pendingBefore: Date, startingBefore: Date, stoppingBefore: Date,
                                 limit: Int) throws -> [(id: Int, status: ReplicaStatus)] {
        try conn.query("""
            SELECT id, status FROM deployment_replicas
            WHERE (status = 'pending' AND updated_at <= $1) OR (status = 'starting' AND updated_at <= $2)
               OR (status = 'stopping' AND updated_at <= $3)
            LIMIT $4
            """ + conn.dialect.lockRows(of: nil, .skipLocked),
            [.date(pendingBefore), .date(startingBefore), .date(stoppingBefore), .int(Int64(limit))]).map {
            (try $0.int("id"), ReplicaStatus(rawValue: try $0.string("status")) ?? .failed)
        }
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

    /// Deploying → active, with its history row and counters.
    static func activate(_ conn: DatabaseConnection, _ d: Deployment, now: Date) throws {
        try conn.execute("UPDATE deployments SET status = 'active', updated_at = $2 WHERE id = $1", [.int(Int64(d.id)), .date(now)])
        try recordHistory(conn, d.id, from: .deploying, to: .active, by: .system, reason: "first replica running", now: now)
        try AuditStore.record(conn, .system, .deploymentActivate, target: "\(d.id)", details: "\(d.name): first replica running", now: now)
        try adjustCounts(conn, from: .deploying, to: .active)
    }

    /// Active deployments after `afterID` whose latest figures are older than `minuteStart`.
    static func claimDueForStats(_ conn: DatabaseConnection, minuteStart: Date, afterID: Int, limit: Int) throws -> [Deployment] {
        try conn.query("""
            SELECT \(columns) FROM \(from)
            WHERE d.deleted_at IS NULL AND d.status = 'active' AND d.id > $2 AND (d.stats_at IS NULL OR d.stats_at < $1)
            ORDER BY d.id LIMIT $3
            """ + conn.dialect.lockRows(of: "d", .skipLocked), [.date(minuteStart), .int(Int64(afterID)), .int(Int64(limit))]).map(decode)
    }

    /// Deletes at most `limit` buckets older than `cutoff`, found through `inference_metrics_bucket_idx`.
    static func pruneBuckets(_ conn: DatabaseConnection, before cutoff: Date, limit: Int) throws -> Int {
        try conn.execute("""
            DELETE FROM inference_metrics WHERE (deployment_id, bucket) IN
              (SELECT deployment_id, bucket FROM inference_metrics WHERE bucket < $1 LIMIT $2)
            """, [.date(cutoff), .int(Int64(limit))])
    }
}
