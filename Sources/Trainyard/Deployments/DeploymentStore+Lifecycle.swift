import Foundation
import Storage

/// Pause, resume, retry, delete, configuration changes (revisions) and rollback to a revision.
/// Each runs in one transaction on the locked deployment row and writes its history row, its
/// audit row and the status counters with it.
extension DeploymentStore {
    /// What a lifecycle action did; the web layer chooses the words.
    enum ChangeResult: Equatable {
        /// Done; the deployment as it was before the change.
        case changed(Deployment)
        /// Nothing to do (already so).
        case unchanged(Deployment)
        /// Not possible in the deployment's current status.
        case notAllowed(current: DeploymentStatus)
        /// A rollout of this revision is under way; one change at a time.
        case rolloutInProgress(revision: Int)
        /// Rollback to a revision this deployment does not have.
        case noSuchRevision(Int)
        /// Starting it again would make a second live deployment of its job: that one is live.
        case jobAlreadyLive(id: Int, name: String, status: DeploymentStatus)
        case deleted
        case notFound
    }

    /// Runs `body` on the locked, live (not deleted) deployment inside one transaction.
    /// A change that starts a paused or failed deployment again (resume, retry, a new revision)
    /// is refused by the database when its job has another live deployment (deployed again since):
    /// that one is named.
    private func change(_ id: Int, _ body: (DatabaseConnection, Deployment) throws -> ChangeResult) throws -> ChangeResult {
        do {
            return try database.transaction { conn in
                guard let deployment = try Self.lockedDeployment(conn, id) else { return .notFound }
                if deployment.isDeleted { return .deleted }
                return try body(conn, deployment)
            }
        } catch let error as DatabaseError where error.isUniqueViolation(on: Schema.oneLiveDeploymentPerJob) {
            guard let d = try find(id), let live = try database.transaction({ try Self.liveDeployment($0, job: d.jobID) }) else { throw error }
            return .jobAlreadyLive(id: live.id, name: live.name, status: live.status)
        }
    }

    static func lockedDeployment(_ conn: DatabaseConnection, _ id: Int) throws -> Deployment? {
        try conn.queryOne("SELECT \(columns) FROM \(from) WHERE d.id = $1" + conn.dialect.lockRows(of: "d"), [.int(Int64(id))]).map(decode)
    }

    // MARK: Status changes

    /// Active or deploying → paused: every replica stops, a rollout under way is cancelled and
    /// the figures clear.
    func pause(_ id: Int, by actor: Actor, now: Date) throws -> ChangeResult {
        try change(id) { conn, d in
            guard d.status == .active || d.status == .deploying else { return .notAllowed(current: d.status) }
            try Self.pause(conn, d, by: actor, event: .pause, reason: "paused: replicas stopped", now: now)
            return .changed(d)
        }
    }

    /// The pause itself, shared with guardrails and rollback-to-version.
    static func pause(_ conn: DatabaseConnection, _ d: Deployment, by actor: Actor, event: DeploymentEvent, reason: String, now: Date) throws {
        try cancelRollout(conn, d, because: "cancelled: the deployment was paused")
        try conn.execute("""
            UPDATE deployments SET status = 'paused', updated_at = $2, rps = 0, p50_ms = 0, p95_ms = 0, p99_ms = 0,
                error_rate = 0, stats_at = NULL, rollout_started_at = NULL WHERE id = $1
            """, [.int(Int64(d.id)), .date(now)])
        try stopReplicas(conn, d.id, now: now)
        try recordHistory(conn, d.id, event, from: d.status, to: .paused, revision: d.revision, replicas: d.targetReplicas,
                          by: actor, reason: reason, now: now)
        try AuditStore.record(conn, actor, .deploymentPause, target: "\(d.id)", details: "\(d.name): \(d.status.rawValue) → paused", now: now)
        try adjustCounts(conn, from: d.status, to: .paused)
    }

    /// Paused → deploying: the replicas start again and the runner makes it active when the
    /// first one runs, as for a new deployment, so "active" always means something is serving.
    func resume(_ id: Int, by actor: Actor, now: Date) throws -> ChangeResult {
        try change(id) { conn, d in
            guard d.status == .paused else { return .notAllowed(current: d.status) }
            try Self.restart(conn, d, now: now)
            try Self.recordHistory(conn, id, .resume, from: .paused, to: .deploying, revision: d.revision, replicas: d.targetReplicas,
                                   by: actor, reason: "resumed: starting \(Self.replicas(d.targetReplicas))", now: now)
            try AuditStore.record(conn, actor, .deploymentResume, target: "\(id)", details: "\(d.name): paused → deploying", now: now)
            try Self.adjustCounts(conn, from: .paused, to: .deploying)
            return .changed(d)
        }
    }

    /// Failed → deploying with the same revision: every replica starts afresh.
    func retry(_ id: Int, by actor: Actor, now: Date) throws -> ChangeResult {
        try change(id) { conn, d in
            guard d.status == .failed else { return .notAllowed(current: d.status) }
            try Self.restart(conn, d, now: now)
            try Self.recordHistory(conn, id, .retry, from: .failed, to: .deploying, revision: d.revision, replicas: d.targetReplicas,
                                   by: actor, reason: "retried revision \(d.revision): starting \(Self.replicas(d.targetReplicas))", now: now)
            try AuditStore.record(conn, actor, .deploymentRetry, target: "\(id)", details: "\(d.name): failed → deploying", now: now)
            try Self.adjustCounts(conn, from: .failed, to: .deploying)
            return .changed(d)
        }
    }

    /// Back to deploying with the current revision's replicas pending and the start clock reset.
    private static func restart(_ conn: DatabaseConnection, _ d: Deployment, now: Date) throws {
        try conn.execute("""
            UPDATE deployments SET status = 'deploying', updated_at = $2, rollout_started_at = NULL, failure_reason = NULL WHERE id = $1
            """, [.int(Int64(d.id)), .date(now)])
        try applyTarget(conn, d.id, revision: d.revision, target: d.targetReplicas, start: true, now: now)
    }

    /// Soft delete: the row stays (with its history) for the detail page; lists skip it.
    func delete(_ id: Int, by actor: Actor, now: Date) throws -> ChangeResult {
        try change(id) { conn, d in
            try Self.cancelRollout(conn, d, because: "cancelled: the deployment was deleted")
            try conn.execute("""
                UPDATE deployments SET deleted_at = $2, updated_at = $2, rps = 0, p50_ms = 0, p95_ms = 0, p99_ms = 0,
                    error_rate = 0, stats_at = NULL, attention_since = NULL, attention_reason = NULL WHERE id = $1
                """, [.int(Int64(id)), .date(now)])
            try Self.stopReplicas(conn, id, now: now)
            try Self.recordHistory(conn, id, .delete, from: d.status, to: d.status, revision: d.revision, replicas: d.targetReplicas,
                                   by: actor, reason: "deleted", now: now)
            try AuditStore.record(conn, actor, .deploymentDelete, target: "\(id)", details: "\(d.name) (was \(d.status.rawValue))", now: now)
            try Self.adjustCounts(conn, from: d.status, to: nil)
            return .changed(d)
        }
    }

    // MARK: Revisions

    func revisions(_ id: Int, limit: Int = 100) throws -> [DeploymentRevision] {
        try database.query("""
            SELECT \(Self.revisionSelect) FROM deployment_revisions WHERE deployment_id = $1 ORDER BY number DESC LIMIT $2
            """, [.int(Int64(id)), .int(Int64(limit))]).map(Self.decodeRevision)
    }

    static let revisionSelect = "number, replicas, cpu, memory_mb, gpu, storage_gb, created_by, created_at, reason, source_revision, failed_reason"

    static func decodeRevision(_ row: Row) throws -> DeploymentRevision {
        DeploymentRevision(number: try row.int("number"), replicas: try row.int("replicas"),
                           resources: DeploymentResources(cpu: try row.double("cpu"), memoryMB: try row.int("memory_mb"),
                                                          gpu: try row.int("gpu"), storageGB: try row.int("storage_gb")),
                           createdBy: try row.string("created_by"), createdAt: try row.date("created_at"), reason: try row.string("reason"),
                           sourceRevision: try row.optionalInt("source_revision"), failedReason: try row.optionalString("failed_reason"))
    }

    static func revision(_ conn: DatabaseConnection, _ id: Int, _ number: Int) throws -> DeploymentRevision? {
        try conn.queryOne("SELECT \(revisionSelect) FROM deployment_revisions WHERE deployment_id = $1 AND number = $2",
                          [.int(Int64(id)), .int(Int64(number))]).map(decodeRevision)
    }

    /// Replicas only: a convenience over `reconfigure` that keeps the resources.
    func scale(_ id: Int, to target: Int, by actor: Actor, now: Date) throws -> ChangeResult {
        try DeploymentRules.replicas.check(target)
        guard let current = try resources(id) else { return .notFound }
        return try reconfigure(id, replicas: target, resources: current, by: actor, now: now)
    }

    /// A new revision with these replicas and resources.
    ///
    /// - Active with new resources: a rolling rollout. The new revision's replicas start beside
    ///   the serving ones, which stop only once every new one runs; if the new ones cannot start,
    ///   the old revision keeps serving and the rollout is marked failed (see the runner).
    /// - Replicas only, or not serving (deploying, paused, failed): in place. Running replicas
    ///   are kept when only the count changes; a failed deployment starts again with the new
    ///   configuration.
    func reconfigure(_ id: Int, replicas: Int, resources: DeploymentResources, by actor: Actor, now: Date,
                     rollbackTo source: Int? = nil) throws -> ChangeResult {
        try DeploymentRules.check(replicas: replicas, resources)
        return try change(id) { conn, d in
            if let rolling = d.rolloutRevision { return .rolloutInProgress(revision: rolling) }
            guard let current = try Self.revision(conn, id, d.revision) else { return .notFound }
            let number = try conn.queryOne("SELECT MAX(number) AS n FROM deployment_revisions WHERE deployment_id = $1",
                                           [.int(Int64(id))])!.int("n") + 1
            let changes = DeploymentRevision(number: number, replicas: replicas, resources: resources, createdBy: actor.username,
                                             createdAt: now, reason: "").changes(from: current)
            if changes.isEmpty { return .unchanged(d) }
            let summary = (source.map { "rollback to revision \($0): " } ?? "") + changes.joined(separator: ", ")
            let next = DeploymentRevision(number: number, replicas: replicas, resources: resources, createdBy: actor.username,
                                          createdAt: now, reason: summary, sourceRevision: source)
            try Self.insertRevision(conn, id, next)
            try Self.removeIdleReplicas(conn, id, keeping: d.revision)
            let resourcesChanged = current.resources != resources
            let event: DeploymentEvent = source != nil ? .rollback : resourcesChanged ? .revision : .scale

            if d.status == .active && resourcesChanged {
                try Self.applyTarget(conn, id, revision: number, target: replicas, start: true, now: now)
                try conn.execute("UPDATE deployments SET rollout_revision = $2, rollout_started_at = NULL, updated_at = $3 WHERE id = $1",
                                 [.int(Int64(id)), .int(Int64(number)), .date(now)])
                try Self.recordHistory(conn, id, event, from: d.status, to: d.status, revision: d.revision, replicas: d.targetReplicas, by: actor,
                                       reason: "revision \(number) rolling out (\(summary)); revision \(d.revision) serves until it runs", now: now)
            } else {
                let status: DeploymentStatus = d.status == .failed ? .deploying : d.status
                try Self.adopt(conn, d, next, now: now)
                if resourcesChanged {
                    try Self.stopReplicas(conn, id, exceptRevision: number, now: now)
                } else {
                    try conn.execute("UPDATE deployment_replicas SET revision = $3 WHERE deployment_id = $1 AND revision = $2",
                                     [.int(Int64(id)), .int(Int64(d.revision)), .int(Int64(number))])
                }
                try Self.applyTarget(conn, id, revision: number, target: replicas, start: status != .paused, now: now)
                if status != d.status {
                    try conn.execute("UPDATE deployments SET status = 'deploying', rollout_started_at = NULL, failure_reason = NULL WHERE id = $1",
                                     [.int(Int64(id))])
                    try Self.adjustCounts(conn, from: d.status, to: status)
                } else if status == .deploying {
                    try conn.execute("UPDATE deployments SET rollout_started_at = NULL WHERE id = $1", [.int(Int64(id))])
                }
                try Self.recordHistory(conn, id, event, from: d.status, to: status, revision: number, replicas: replicas, by: actor,
                                       reason: "revision \(number): \(summary)", now: now)
            }
            try AuditStore.record(conn, actor, source != nil ? .deploymentRollback : resourcesChanged ? .deploymentRevision : .deploymentScale, target: "\(id)",
                                  details: "\(d.name): revision \(number) (\(summary))", now: now)
            return .changed(d)
        }
    }

    /// A new revision with revision `number`'s configuration (append-only: nothing is rewritten).
    func rollback(_ id: Int, toRevision number: Int, by actor: Actor, now: Date) throws -> ChangeResult {
        guard let target = try database.transaction({ try Self.revision($0, id, number) }) else {
            return try find(id) == nil ? .notFound : .noSuchRevision(number)
        }
        return try reconfigure(id, replicas: target.replicas, resources: target.resources, by: actor, now: now, rollbackTo: number)
    }

    /// Makes `revision` the serving configuration on the row and in `deployment_resources`.
    static func adopt(_ conn: DatabaseConnection, _ d: Deployment, _ revision: DeploymentRevision, now: Date) throws {
        try conn.execute("UPDATE deployments SET revision = $2, target_replicas = $3, updated_at = $4 WHERE id = $1",
                         [.int(Int64(d.id)), .int(Int64(revision.number)), .int(Int64(revision.replicas)), .date(now)])
        let r = revision.resources
        try conn.execute("UPDATE deployment_resources SET cpu = $2, memory_mb = $3, gpu = $4, storage_gb = $5 WHERE deployment_id = $1",
                         [.int(Int64(d.id)), .double(r.cpu), .int(Int64(r.memoryMB)), .int(Int64(r.gpu)), .int(Int64(r.storageGB))])
    }

    /// Ends a rollout under way without it: its replicas stop and its revision keeps `reason`.
    static func cancelRollout(_ conn: DatabaseConnection, _ d: Deployment, because reason: String) throws {
        guard let rolling = d.rolloutRevision else { return }
        try conn.execute("UPDATE deployment_revisions SET failed_reason = $3 WHERE deployment_id = $1 AND number = $2 AND failed_reason IS NULL",
                         [.int(Int64(d.id)), .int(Int64(rolling)), .text(reason)])
        try conn.execute("UPDATE deployments SET rollout_revision = NULL WHERE id = $1", [.int(Int64(d.id))])
    }

    // MARK: Shared steps (inside a transaction)

    static func recordHistory(_ conn: DatabaseConnection, _ id: Int, _ event: DeploymentEvent, from old: DeploymentStatus?,
                              to new: DeploymentStatus, revision: Int, replicas: Int, by actor: Actor, reason: String, now: Date) throws {
        try conn.execute("""
            INSERT INTO deployment_status_history (deployment_id, old_status, new_status, event, revision, replicas, changed_by, reason, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """, [.int(Int64(id)), SQLValue(old?.rawValue), .text(new.rawValue), .text(event.rawValue), .int(Int64(revision)),
                  .int(Int64(replicas)), .text(actor.username), .text(reason), .date(now)])
    }

    static func insertReplica(_ conn: DatabaseConnection, _ id: Int, revision: Int = 1, ordinal: Int, status: ReplicaStatus, now: Date) throws {
        try conn.execute("""
            INSERT INTO deployment_replicas (deployment_id, revision, ordinal, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
            """, [.int(Int64(id)), .int(Int64(revision)), .int(Int64(ordinal)), .text(status.rawValue), .date(now)])
    }

    /// Makes replicas 1…target of `revision` the wanted set: those above it stop; with `start`,
    /// the wanted ones that are not live become pending with a fresh restart count (new ordinals
    /// are inserted); without it (paused), new ordinals are recorded as stopped and start on resume.
    static func applyTarget(_ conn: DatabaseConnection, _ id: Int, revision: Int, target: Int, start: Bool, now: Date) throws {
        try conn.execute("""
            UPDATE deployment_replicas SET status = 'stopping', updated_at = $4, retry_at = NULL
            WHERE deployment_id = $1 AND revision = $2 AND ordinal > $3 AND status IN ('pending', 'starting', 'running')
            """, [.int(Int64(id)), .int(Int64(revision)), .int(Int64(target)), .date(now)])
        if start {
            try conn.execute("""
                UPDATE deployment_replicas SET status = 'pending', updated_at = $4, restarts = 0, retry_at = NULL
                WHERE deployment_id = $1 AND revision = $2 AND ordinal <= $3 AND status IN ('stopping', 'stopped', 'failed')
                """, [.int(Int64(id)), .int(Int64(revision)), .int(Int64(target)), .date(now)])
        }
        let highest = try conn.queryOne("""
            SELECT COALESCE(MAX(ordinal), 0) AS n FROM deployment_replicas WHERE deployment_id = $1 AND revision = $2
            """, [.int(Int64(id)), .int(Int64(revision))])!.int("n")
        if highest < target {
            for ordinal in (highest + 1)...target {
                try insertReplica(conn, id, revision: revision, ordinal: ordinal, status: start ? .pending : .stopped, now: now)
            }
        }
    }

    /// Every live replica (or every one not of `exceptRevision`) begins stopping; the runner
    /// finishes it. Failed ones waiting for a retry stop waiting.
    static func stopReplicas(_ conn: DatabaseConnection, _ id: Int, exceptRevision: Int? = nil, now: Date) throws {
        // Revision 0 never exists, so "except 0" is "all".
        let params: [SQLValue] = [.int(Int64(id)), .int(Int64(exceptRevision ?? 0)), .date(now)]
        try conn.execute("""
            UPDATE deployment_replicas SET status = 'stopping', updated_at = $3, retry_at = NULL
            WHERE deployment_id = $1 AND revision <> $2 AND status IN ('pending', 'starting', 'running')
            """, params)
        try conn.execute("""
            UPDATE deployment_replicas SET retry_at = NULL WHERE deployment_id = $1 AND revision <> $2 AND retry_at IS NOT NULL
            """, Array(params.prefix(2)))
    }

    /// Stopped and failed replicas of other revisions than `keeping` are history by now: the
    /// replica list shows the serving revision and the one rolling out.
    static func removeIdleReplicas(_ conn: DatabaseConnection, _ id: Int, keeping revision: Int) throws {
        try conn.execute("""
            DELETE FROM deployment_replicas WHERE deployment_id = $1 AND revision <> $2 AND status IN ('stopped', 'failed')
            """, [.int(Int64(id)), .int(Int64(revision))])
    }
}

extension DeploymentStore {
    /// The model's deployment named `version` (deleted or not), newest first if ever repeated.
    func version(modelID: Int, _ version: String) throws -> Deployment? {
        try database.queryOne("""
            SELECT \(Self.columns) FROM \(Self.from) WHERE d.model_id = $1 AND d.version = $2 ORDER BY d.id DESC LIMIT 1
            """, [.int(Int64(modelID)), .text(version)]).map(Self.decode)
    }

    /// The model's deployments, newest first (the rollback-to-version choices). The count is
    /// written into the SQL, as `ListClauses.window` explains.
    func versions(modelID: Int, limit: Int = 50) throws -> [(id: Int, version: String, name: String, status: DeploymentStatus, deleted: Bool)] {
        try database.query("""
            SELECT id, version, name, status, deleted_at FROM deployments WHERE model_id = $1 ORDER BY version_number DESC LIMIT \(limit)
            """, [.int(Int64(modelID))]).map {
            (try $0.int("id"), try $0.string("version"), try $0.string("name"),
             DeploymentStatus(rawValue: try $0.string("status")) ?? .failed, try $0.optionalDate("deleted_at") != nil)
        }
    }
}
