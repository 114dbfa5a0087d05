import Foundation
import Storage

/// Brings deployments' replicas up and down and writes their inference statistics.
///
/// Each tick, in one transaction:
/// 1. replicas whose time in `pending`, `starting` or `stopping` is up move on
///    (pending → starting → running; stopping → stopped), paced by the simulation speed;
/// 2. deploying deployments with a running replica become active, with figures for the
///    current minute at once;
/// 3. active deployments without a bucket for the current minute get one (at most
///    `deploymentsPerTick` per tick; the rest follow on later ticks or in another process);
/// 4. buckets older than `retention` are deleted, a batch at a time.
///
/// Rows are claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several `serve` processes
/// never move the same replica or write the same bucket twice; SQLite serialises writers itself.
/// Buckets are idempotent per (deployment, minute) anyway.
final class DeploymentRunner {
    /// Seconds a replica spends in each transitional state at speed 1.
    static let pendingSeconds = 2.0
    static let startingSeconds = 8.0
    static let stoppingSeconds = 3.0
    static let replicasPerTick = 500
    static let deploymentsPerTick = 500

    let database: Database
    let speed: Double
    /// Where the stats pass stopped within the current minute: an optimisation only (the
    /// `stats_at` test decides what is due), so a restart or another process loses nothing.
    private var cursor: (minute: Int, id: Int) = (0, 0)
    private let lock = NSLock()

    init(database: Database, speed: Double) {
        self.database = database
        self.speed = speed
    }

    struct Report: Equatable {
        var replicasMoved = 0
        var activated = 0
        var buckets = 0
        var pruned = 0
    }

    /// Inference buckets are kept for the longest chart range (7 days) plus a day; older ones
    /// are deleted a batch per tick, so the table stops growing with time.
    static let retention: TimeInterval = 8 * 86_400
    static let prunedPerTick = 5_000

    @discardableResult
    func tick(now: Date = Date()) throws -> Report {
        lock.lock()
        defer { lock.unlock() }
        let minute = Self.minute(of: now)
        let start = cursor.minute == minute ? cursor.id : 0
        let (report, lastID) = try database.transaction { conn in
            var report = Report()
            report.replicasMoved = try moveReplicas(conn, now: now)
            report.activated = try activateDeploying(conn, now: now)
            let (buckets, lastID) = try writeBuckets(conn, minute: minute, after: start)
            report.buckets = buckets
            report.pruned = try pruneBuckets(conn, before: now.addingTimeInterval(-Self.retention))
            return (report, lastID)
        }
        // Advanced only once the transaction has committed.
        cursor = (minute, lastID)
        return report
    }

    /// Deletes at most `prunedPerTick` buckets older than `cutoff`, found through
    /// `inference_metrics_bucket_idx`.
    private func pruneBuckets(_ conn: DatabaseConnection, before cutoff: Date) throws -> Int {
        try conn.execute("""
            DELETE FROM inference_metrics WHERE (deployment_id, bucket) IN
              (SELECT deployment_id, bucket FROM inference_metrics WHERE bucket < $1 LIMIT \(Self.prunedPerTick))
            """, [.date(cutoff)])
    }

    static func minute(of date: Date) -> Int { Int((date.timeIntervalSince1970 / 60).rounded(.down)) }

    /// No ORDER BY: it would make SQLite scan every replica in id order instead of reading the
    /// three (status, time) ranges from `deployment_replicas_status_updated_idx`.
    private func moveReplicas(_ conn: DatabaseConnection, now: Date) throws -> Int {
        let claim = conn.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        let rows = try conn.query("""
            SELECT id, status FROM deployment_replicas
            WHERE (status = 'pending' AND updated_at <= $1) OR (status = 'starting' AND updated_at <= $2)
               OR (status = 'stopping' AND updated_at <= $3)
            LIMIT \(Self.replicasPerTick)\(claim)
            """, [.date(now.addingTimeInterval(-Self.pendingSeconds / speed)),
                  .date(now.addingTimeInterval(-Self.startingSeconds / speed)),
                  .date(now.addingTimeInterval(-Self.stoppingSeconds / speed))])
        for row in rows {
            let next: ReplicaStatus = switch try row.string("status") {
            case "pending": .starting
            case "starting": .running
            default: .stopped
            }
            try conn.execute("UPDATE deployment_replicas SET status = $2, updated_at = $3 WHERE id = $1",
                             [.int(Int64(try row.int("id"))), .text(next.rawValue), .date(now)])
        }
        return rows.count
    }

    private func activateDeploying(_ conn: DatabaseConnection, now: Date) throws -> Int {
        let claim = conn.dialect == .postgres ? " FOR UPDATE OF d SKIP LOCKED" : ""
        let rows = try conn.query("""
            SELECT \(DeploymentStore.columns) FROM \(DeploymentStore.from)
            WHERE d.deleted_at IS NULL AND d.status = 'deploying'
              AND EXISTS (SELECT 1 FROM deployment_replicas r WHERE r.deployment_id = d.id AND r.status = 'running')
            ORDER BY d.id LIMIT \(Self.deploymentsPerTick)\(claim)
            """, [])
        let minute = Self.minute(of: now)
        for row in rows {
            let d = try DeploymentStore.decode(row)
            try conn.execute("UPDATE deployments SET status = 'active', updated_at = $2 WHERE id = $1", [.int(Int64(d.id)), .date(now)])
            try DeploymentStore.history(conn, d.id, from: .deploying, to: .active, by: DeploymentStore.runnerActor,
                                        reason: "first replica running", now: now)
            try StatusCounters.adjustDeployments(conn, from: .deploying, to: .active)
            try DeploymentStore.recordStats(conn, d, minute: minute)
        }
        return rows.count
    }

    private func writeBuckets(_ conn: DatabaseConnection, minute: Int, after start: Int) throws -> (Int, Int) {
        let minuteStart = Date(timeIntervalSince1970: Double(minute) * 60)
        let claim = conn.dialect == .postgres ? " FOR UPDATE OF d SKIP LOCKED" : ""
        let rows = try conn.query("""
            SELECT \(DeploymentStore.columns) FROM \(DeploymentStore.from)
            WHERE d.deleted_at IS NULL AND d.status = 'active' AND d.id > $2 AND (d.stats_at IS NULL OR d.stats_at < $1)
            ORDER BY d.id LIMIT \(Self.deploymentsPerTick)\(claim)
            """, [.date(minuteStart), .int(Int64(start))])
        var lastID = start
        for row in rows {
            let d = try DeploymentStore.decode(row)
            try DeploymentStore.recordStats(conn, d, minute: minute)
            lastID = d.id
        }
        return (rows.count, lastID)
    }
}
