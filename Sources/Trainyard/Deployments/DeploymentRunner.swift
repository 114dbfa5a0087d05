import Foundation
import Storage

/// Brings deployments' replicas up and down and writes their inference statistics.
///
/// Each tick, in one transaction:
/// 1. failed replicas whose backoff is over start again;
/// 2. replicas whose time in `pending`, `starting` or `stopping` is up move on
///    (pending → starting → running; stopping → stopped), paced by the simulation speed, or
///    fail as `ReplicaStartRules` says;
/// 3. deploying deployments with a running replica become active, with figures for the
///    current minute at once (and stop the deployment a rollback to their version replaces);
/// 4. rollouts finish when every new replica runs, or fail when one cannot start or the start
///    deadline passes (the old revision keeps serving); deploying deployments fail the same way;
/// 5. active deployments without a bucket for the current minute get one (at most
///    `deploymentsPerTick` per tick; the rest follow on later ticks or in another process),
///    and their guardrails are checked against it;
/// 6. buckets older than `retention` are deleted, a batch at a time.
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
    /// Sized for a large simulated table: 70,000 active deployments need 70,000 buckets a minute,
    /// and each bucket moves ten sort-index entries, so pages shared within one commit are most
    /// of the cost. Measured on a 100,000-row table: at 500 a tick the runner wrote 60,000 of its
    /// 70,000 buckets in the minute at 434 µs of CPU each; at 2,000 all 70,000 at 317 µs, and at
    /// 140 µs once a tick's buckets were written in multi-row statements, so a full tick holds
    /// SQLite's write lock for about 0.3 s (PostgreSQL locks rows only).
    static let deploymentsPerTick = 2_000
    /// Seconds (at speed 1) a start or rollout may take before it is given up.
    static let startDeadlineSeconds = 180.0

    let database: Database
    let speed: Double
    /// The chance that one start attempt fails its health check (tests set 0 or 1).
    var startFailureRate: Double
    /// Where the stats pass stopped within the current minute: an optimisation only (the
    /// `stats_at` test decides what is due), so a restart or another process loses nothing.
    private var cursor: (minute: Int, id: Int) = (0, 0)
    /// The cutoff minute through which buckets are known pruned (set once the transaction commits).
    private var prunedMinute: Int?
    private let lock = NSLock()

    init(database: Database, speed: Double, startFailureRate: Double = ReplicaStartRules.defaultFailureRate) {
        self.database = database
        self.speed = speed
        self.startFailureRate = startFailureRate
    }

    struct Report: Equatable {
        var replicasMoved = 0
        var replicasFailed = 0
        var restarted = 0
        var activated = 0
        var rolledOut = 0
        var failed = 0
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
        let cutoff = now.addingTimeInterval(-Self.retention)
        let (report, lastID) = try database.transaction { conn in
            var report = Report()
            report.restarted = try DeploymentStore.restartDueReplicas(conn, now: now)
            (report.replicasMoved, report.replicasFailed) = try moveReplicas(conn, now: now)
            report.activated = try activateDeploying(conn, now: now)
            (report.rolledOut, report.failed) = try settleRollouts(conn, now: now)
            let (buckets, lastID) = try writeBuckets(conn, minute: minute, after: start, now: now)
            report.buckets = buckets
            report.pruned = try pruneBuckets(conn, before: cutoff)
            return (report, lastID)
        }
        // Advanced only once the transaction has committed.
        cursor = (minute, lastID)
        // Buckets start on the minute, so once a prune comes up short (or was skipped) nothing
        // more is due until the cutoff reaches the next minute.
        prunedMinute = report.pruned < Self.prunedPerTick ? Self.minute(of: cutoff) : nil
        return report
    }

    /// Skipped while the cutoff is still in a minute already pruned through.
    private func pruneBuckets(_ conn: DatabaseConnection, before cutoff: Date) throws -> Int {
        if prunedMinute == Self.minute(of: cutoff) { return 0 }
        return try DeploymentStore.pruneBuckets(conn, before: cutoff, limit: Self.prunedPerTick)
    }

    static func minute(of date: Date) -> Int { Int((date.timeIntervalSince1970 / 60).rounded(.down)) }

    /// Moves due replicas on; returns (moved, failed).
    private func moveReplicas(_ conn: DatabaseConnection, now: Date) throws -> (Int, Int) {
        let due = try DeploymentStore.claimDueReplicas(
            conn, pendingBefore: now.addingTimeInterval(-Self.pendingSeconds / speed),
            startingBefore: now.addingTimeInterval(-Self.startingSeconds / speed),
            stoppingBefore: now.addingTimeInterval(-Self.stoppingSeconds / speed), limit: Self.replicasPerTick)
        var configs: [String: DeploymentStore.ReplicaConfig] = [:]
        var failed = 0
        for replica in due {
            var outcome = ReplicaStartRules.Outcome.starts
            if replica.status == .pending || replica.status == .starting {
                let key = "\(replica.deploymentID)/\(replica.revision)"
                guard let config = try configs[key] ?? DeploymentStore.replicaConfig(conn, replica.deploymentID, revision: replica.revision) else {
                    continue
                }
                configs[key] = config
                outcome = replica.status == .pending
                    ? ReplicaStartRules.scheduling(sizeClass: config.sizeClass, resources: config.resources)
                    : ReplicaStartRules.start(sizeClass: config.sizeClass, resources: config.resources, deploymentID: replica.deploymentID,
                                              seed: config.seed, revision: replica.revision, ordinal: replica.ordinal,
                                              attempt: replica.restarts, failureRate: startFailureRate)
            }
            if case .fails(let reason, let retryable) = outcome {
                let retry = retryable && replica.restarts < ReplicaStartRules.maxRestarts
                let retryAt = retry ? now.addingTimeInterval(ReplicaStartRules.backoffSeconds(beforeRestart: replica.restarts + 1) / speed) : nil
                try DeploymentStore.failReplica(conn, replica.id, reason: reason, retryAt: retryAt, now: now)
                failed += 1
                continue
            }
            let next: ReplicaStatus = switch replica.status {
            case .pending: .starting
            case .starting: .running
            default: .stopped
            }
            try DeploymentStore.setReplicaStatus(conn, replica: replica.id, to: next, now: now)
            if next == .starting { try DeploymentStore.startDeadlineClock(conn, replica.deploymentID, now: now) }
        }
        return (due.count, failed)
    }

    /// Finishes or gives up rollouts and starts; returns (rolled out, failed).
    private func settleRollouts(_ conn: DatabaseConnection, now: Date) throws -> (Int, Int) {
        let deadline = now.addingTimeInterval(-Self.startDeadline(speed))
        var rolledOut = 0, failed = 0
        for d in try DeploymentStore.claimInRollout(conn, limit: Self.deploymentsPerTick) {
            let revision = d.rolloutRevision ?? d.revision
            let state = try DeploymentStore.replicaState(conn, d.id, revision: revision)
            let timedOut = d.rolloutStartedAt.map { $0 <= deadline } ?? false
            if d.status == .deploying {
                guard state.running == 0 else { continue }   // activation's business
                if let reason = state.permanentFailure, state.permanentlyFailed >= state.wanted {
                    try DeploymentStore.fail(conn, d, reason: "no replica could start: \(reason)", now: now)
                    failed += 1
                } else if timedOut {
                    try DeploymentStore.fail(conn, d, reason: "no replica was running within \(Self.deadlineText(speed)) of the start"
                                             + (state.lastFailure.map { " (last failure: \($0))" } ?? ""), now: now)
                    failed += 1
                }
            } else if let rolling = d.rolloutRevision {
                if state.running >= state.wanted {
                    try DeploymentStore.completeRollout(conn, d, revision: rolling, now: now)
                    rolledOut += 1
                } else if let reason = state.permanentFailure {
                    try DeploymentStore.failRollout(conn, d, revision: rolling, reason: reason, now: now)
                    failed += 1
                } else if timedOut {
                    try DeploymentStore.failRollout(conn, d, revision: rolling, reason: "not every new replica was running within \(Self.deadlineText(speed))"
                                                    + (state.lastFailure.map { " (last failure: \($0))" } ?? ""), now: now)
                    failed += 1
                }
            }
        }
        return (rolledOut, failed)
    }

    /// The start deadline in real seconds: scaled by the speed, but never under 10 s, so that a
    /// fast simulation still leaves the background loop several ticks for a retry.
    static func startDeadline(_ speed: Double) -> Double { max(startDeadlineSeconds / speed, 10) }

    static func deadlineText(_ speed: Double) -> String {
        let seconds = startDeadline(speed)
        return seconds >= 60 && seconds.truncatingRemainder(dividingBy: 60) == 0 ? "\(Int(seconds / 60)) minutes" : "\(Format.compact(seconds)) s"
    }

    private func activateDeploying(_ conn: DatabaseConnection, now: Date) throws -> Int {
        let ready = try DeploymentStore.claimReadyToActivate(conn, limit: Self.deploymentsPerTick)
        let minute = Self.minute(of: now)
        for d in ready {
            try DeploymentStore.activate(conn, d, now: now)
            // Scraped and pushed figures come from the model server, not from here.
            if d.metricsSource == .simulated { try DeploymentStore.recordStats(conn, d, minute: minute, now: now) }
        }
        return ready.count
    }

    private func writeBuckets(_ conn: DatabaseConnection, minute: Int, after start: Int, now: Date) throws -> (Int, Int) {
        let due = try DeploymentStore.claimDueForStats(conn, minuteStart: Date(timeIntervalSince1970: Double(minute) * 60),
                                                       afterID: start, limit: Self.deploymentsPerTick)
        try DeploymentStore.recordStats(conn, due, minute: minute, now: now)
        let lastID = due.last?.deployment.id ?? start
        return (due.count, lastID)
    }
}
