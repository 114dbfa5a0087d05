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
/// Rows are claimed with skip-locked row locks on PostgreSQL, so several `serve` processes
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

    private func pruneBuckets(_ conn: DatabaseConnection, before cutoff: Date) throws -> Int {
        try DeploymentStore.pruneBuckets(conn, before: cutoff, limit: Self.prunedPerTick)
    }

    static func minute(of date: Date) -> Int { Int((date.timeIntervalSince1970 / 60).rounded(.down)) }

    private func moveReplicas(_ conn: DatabaseConnection, now: Date) throws -> Int {
        let due = try DeploymentStore.claimDueReplicas(
            conn, pendingBefore: now.addingTimeInterval(-Self.pendingSeconds / speed),
            startingBefore: now.addingTimeInterval(-Self.startingSeconds / speed),
            stoppingBefore: now.addingTimeInterval(-Self.stoppingSeconds / speed), limit: Self.replicasPerTick)
        for replica in due {
            let next: ReplicaStatus = switch replica.status {
            case .pending: .starting
            case .starting: .running
            default: .stopped
            }
            try DeploymentStore.setReplicaStatus(conn, replica: replica.id, to: next, now: now)
        }
        return due.count
    }

    private func activateDeploying(_ conn: DatabaseConnection, now: Date) throws -> Int {
        let ready = try DeploymentStore.claimReadyToActivate(conn, limit: Self.deploymentsPerTick)
        let minute = Self.minute(of: now)
        for d in ready {
            try DeploymentStore.activate(conn, d, now: now)
            try DeploymentStore.recordStats(conn, d, minute: minute)
        }
        return ready.count
    }

    private func writeBuckets(_ conn: DatabaseConnection, minute: Int, after start: Int) throws -> (Int, Int) {
        let due = try DeploymentStore.claimDueForStats(conn, minuteStart: Date(timeIntervalSince1970: Double(minute) * 60),
                                                       afterID: start, limit: Self.deploymentsPerTick)
        var lastID = start
        for d in due {
            try DeploymentStore.recordStats(conn, d, minute: minute)
            lastID = d.id
        }
        return (due.count, lastID)
    }
}
