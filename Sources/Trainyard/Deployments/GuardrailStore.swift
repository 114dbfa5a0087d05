import Foundation
import Storage

/// All SQL on `deployment_guardrails`, and the check the runner makes after each new minute.
///
/// A rule is breached when its metric is above the threshold in each of the last `minutes`
/// stored minutes; the breach is raised once (`breached_since` set, a history row, the
/// deployment flagged for attention, paused if the rule says so) and recovered once, when the
/// latest minute is back under the threshold (`breached_since` cleared, a history row, the
/// flag cleared when no other rule is breached).
struct GuardrailStore {
    let database: Database

    static let select = "id, metric, threshold, minutes, action, created_by, created_at, breached_since"

    static func decode(_ row: Row) throws -> Guardrail {
        Guardrail(id: try row.int("id"), metric: Guardrail.Metric(rawValue: try row.string("metric")) ?? .p95,
                  threshold: try row.double("threshold"), minutes: try row.int("minutes"),
                  action: Guardrail.Action(rawValue: try row.string("action")) ?? .flag,
                  createdBy: try row.string("created_by"), createdAt: try row.date("created_at"),
                  breachedSince: try row.optionalDate("breached_since"))
    }

    func list(_ deploymentID: Int) throws -> [Guardrail] {
        try database.query("SELECT \(Self.select) FROM deployment_guardrails WHERE deployment_id = $1 ORDER BY id",
                           [.int(Int64(deploymentID))]).map(Self.decode)
    }

    enum AddResult: Equatable {
        case added(Guardrail)
        case tooMany
        case deleted
        case notFound
    }

    func add(_ deploymentID: Int, metric: Guardrail.Metric, threshold: Double, minutes: Int, action: Guardrail.Action,
             by actor: Actor, now: Date) throws -> AddResult {
        try GuardrailRules.threshold.check(threshold)
        try GuardrailRules.minutes.check(minutes)
        return try database.transaction { conn in
            guard let d = try DeploymentStore.lockedDeployment(conn, deploymentID) else { return .notFound }
            if d.isDeleted { return .deleted }
            let count = try conn.queryOne("SELECT COUNT(*) AS n FROM deployment_guardrails WHERE deployment_id = $1",
                                          [.int(Int64(deploymentID))])!.int("n")
            if count >= GuardrailRules.perDeployment { return .tooMany }
            let id = try conn.query("""
                INSERT INTO deployment_guardrails (deployment_id, metric, threshold, minutes, action, created_by, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
                """, [.int(Int64(deploymentID)), .text(metric.rawValue), .double(threshold), .int(Int64(minutes)),
                      .text(action.rawValue), .text(actor.username), .date(now)])[0].int("id")
            let rule = Guardrail(id: id, metric: metric, threshold: threshold, minutes: minutes, action: action,
                                 createdBy: actor.username, createdAt: now)
            try AuditStore.record(conn, actor, .deploymentGuardrail, target: "\(deploymentID)",
                                  details: "\(d.name): guardrail added: \(rule.summary) → \(action.rawValue)", now: now)
            return .added(rule)
        }
    }

    /// Removes a rule; a breach it had raised is recovered first so the flag does not outlive it.
    func remove(_ deploymentID: Int, rule ruleID: Int, by actor: Actor, now: Date) throws -> Bool {
        try database.transaction { conn in
            guard let d = try DeploymentStore.lockedDeployment(conn, deploymentID),
                  let rule = try conn.queryOne("SELECT \(Self.select) FROM deployment_guardrails WHERE id = $1 AND deployment_id = $2",
                                               [.int(Int64(ruleID)), .int(Int64(deploymentID))]).map(Self.decode) else { return false }
            try conn.execute("DELETE FROM deployment_guardrails WHERE id = $1", [.int(Int64(ruleID))])
            if rule.breachedSince != nil { try Self.refreshAttention(conn, d, now: now) }
            try AuditStore.record(conn, actor, .deploymentGuardrail, target: "\(deploymentID)",
                                  details: "\(d.name): guardrail removed: \(rule.summary)", now: now)
            return true
        }
    }

    /// Checks each rule of `d` against the minute just stored (inside the runner's transaction).
    static func evaluate(_ conn: DatabaseConnection, _ d: Deployment, latest: InferenceSimulator.Bucket, now: Date) throws {
        let rules = try conn.query("SELECT \(select) FROM deployment_guardrails WHERE deployment_id = $1 ORDER BY id",
                                   [.int(Int64(d.id))]).map(decode)
        guard !rules.isEmpty else { return }
        var paused = false
        for rule in rules {
            let value = rule.metric.value(latest)
            if let since = rule.breachedSince {
                guard value <= rule.threshold else { continue }
                try conn.execute("UPDATE deployment_guardrails SET breached_since = NULL WHERE id = $1", [.int(Int64(rule.id))])
                try DeploymentStore.recordHistory(conn, d.id, .guardrailRecovery, from: d.status, to: d.status, revision: d.revision,
                                                  replicas: d.targetReplicas, by: .guardrail,
                                                  reason: "recovered: \(rule.metric.label) \(rule.metric.format(value)), back under \(rule.metric.format(rule.threshold)) (breached since \(SQLTimestamp.iso8601(since)))",
                                                  now: now)
                try refreshAttention(conn, d, now: now)
            } else if try sustained(conn, d.id, rule, through: latest.start) {
                try conn.execute("UPDATE deployment_guardrails SET breached_since = $2 WHERE id = $1", [.int(Int64(rule.id)), .date(now)])
                let reason = "breach: \(rule.summary) (latest \(rule.metric.format(value)))"
                let pauses = rule.action == .pause && !paused && (d.status == .active || d.status == .deploying)
                try DeploymentStore.recordHistory(conn, d.id, .guardrailBreach, from: d.status, to: d.status, revision: d.revision,
                                                  replicas: d.targetReplicas, by: .guardrail,
                                                  reason: reason + (pauses ? "; pausing" : "; flagged"), now: now)
                try AuditStore.record(conn, .guardrail, .deploymentGuardrail, target: "\(d.id)", details: "\(d.name): \(reason)", now: now)
                try conn.execute("""
                    UPDATE deployments SET attention_since = COALESCE(attention_since, $2), attention_reason = $3 WHERE id = $1
                    """, [.int(Int64(d.id)), .date(now), .text(rule.summary)])
                if pauses {
                    try DeploymentStore.pause(conn, d, by: .guardrail, event: .pause, reason: "paused by guardrail: \(rule.summary)", now: now)
                    paused = true
                }
            }
        }
    }

    /// Whether each of the `minutes` minutes ending at `last` is stored and above the threshold.
    private static func sustained(_ conn: DatabaseConnection, _ id: Int, _ rule: Guardrail, through last: Date) throws -> Bool {
        let first = last.addingTimeInterval(-Double(rule.minutes - 1) * 60)
        let row = try conn.queryOne("""
            SELECT COUNT(*) AS minutes, COALESCE(SUM(CASE WHEN \(rule.metric.sql) > $4 THEN 1 ELSE 0 END), 0) AS above
            FROM inference_metrics WHERE deployment_id = $1 AND bucket >= $2 AND bucket <= $3
            """, [.int(Int64(id)), .date(first), .date(last), .double(rule.threshold)])!
        return try row.int("minutes") == rule.minutes && row.int("above") == rule.minutes
    }

    /// The deployment's flag follows its rules: kept while any is breached, cleared when none is.
    static func refreshAttention(_ conn: DatabaseConnection, _ d: Deployment, now: Date) throws {
        let still = try conn.query("""
            SELECT \(select) FROM deployment_guardrails WHERE deployment_id = $1 AND breached_since IS NOT NULL ORDER BY id
            """, [.int(Int64(d.id))]).map(decode)
        if let first = still.first {
            try conn.execute("UPDATE deployments SET attention_reason = $2 WHERE id = $1", [.int(Int64(d.id)), .text(first.summary)])
        } else {
            try conn.execute("UPDATE deployments SET attention_since = NULL, attention_reason = NULL WHERE id = $1", [.int(Int64(d.id))])
        }
    }
}
