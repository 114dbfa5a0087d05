import Foundation
import Storage

/// What was done, as the audit trail names it (`?action=`).
enum AuditAction: String, CaseIterable, Sendable, ListStatusFilter {
    case modelCreate = "model.create"
    case modelUpdate = "model.update"
    case modelDelete = "model.delete"
    case jobCreate = "job.create"
    case jobStart = "job.start"
    case jobStop = "job.stop"
    case jobComplete = "job.complete"
    case jobFail = "job.fail"
    case jobBaseModel = "job.base_model"
    case runCreate = "run.create"
    case runEnd = "run.end"
    case runStatus = "run.status"
    case experimentCreate = "experiment.create"
    case deploymentCreate = "deployment.create"
    case deploymentActivate = "deployment.activate"
    case deploymentPause = "deployment.pause"
    case deploymentResume = "deployment.resume"
    case deploymentScale = "deployment.scale"
    case deploymentDelete = "deployment.delete"
    case deploymentRevision = "deployment.revision"
    case deploymentRollout = "deployment.rollout"
    case deploymentRollback = "deployment.rollback"
    case deploymentFail = "deployment.fail"
    case deploymentRetry = "deployment.retry"
    case deploymentGuardrail = "deployment.guardrail"
    case deploymentSource = "deployment.source"
    case userCreate = "user.create"
    case userRole = "user.role"
    case userDisable = "user.disable"
    case userEnable = "user.enable"
    case userPassword = "user.password"
    case tokenCreate = "token.create"
    case tokenRevoke = "token.revoke"
    case signIn = "session.sign_in"
    case signInFailed = "session.sign_in_failed"
    case signOut = "session.sign_out"

    var label: String { rawValue }

    /// The kind of thing it was done to.
    var targetType: String { String(rawValue.prefix { $0 != "." }) }
}

/// One row of the audit trail.
struct AuditEntry: Equatable {
    var id: Int
    var at: Date
    var actor: String
    var action: String
    var targetType: String
    var targetID: String
    var details: String
    var clientAddress: String
}

/// The columns `/audit` sorts by: time only, newest first (the trail is append-only).
enum AuditSortKey: String, ListSortKey {
    case time

    var header: String { "Time" }
    var sortLabel: String { "time" }
    var firstDirection: TableQuery.Direction { .desc }
    var isNumeric: Bool { false }
}

/// All SQL on `audit_log`. Rows are only ever inserted, by `record`, inside the transaction of
/// the change they describe, so a change that rolls back leaves no row.
struct AuditStore {
    let database: Database

    static func record(_ conn: DatabaseConnection, _ actor: Actor, _ action: AuditAction, target: String,
                       details: String = "", now: Date) throws {
        try conn.execute("""
            INSERT INTO audit_log (created_at, actor_id, actor, action, target_type, target_id, details, client_address)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """, [.date(now), SQLValue(actor.userID.map { Int64($0) }), .text(actor.username), .text(action.rawValue),
                  .text(action.targetType), .text(target), .text(details), .text(actor.clientAddress)])
    }

    /// Filters of the audit page, already validated.
    struct Filter {
        var actor: String?
        var targetType: String?
        var targetID: String?
        var since: Date?
        var until: Date?
    }

    /// One page of the trail, newest first. Each single filter is served by an index ending in
    /// (created_at, id), so the page is a range read however long the trail is.
    func list(_ slice: ListSlice<AuditSortKey, AuditAction>, _ filter: Filter) throws -> ListResult<AuditEntry> {
        var p = SQLParameters()
        var conditions: [String] = []
        if let actor = filter.actor { conditions.append("actor = " + p.add(.text(actor))) }
        if let status = slice.statusCondition("action", &p) { conditions.append(status) }
        if let type = filter.targetType { conditions.append("target_type = " + p.add(.text(type))) }
        if let id = filter.targetID { conditions.append("target_id = " + p.add(.text(id))) }
        if let since = filter.since { conditions.append("created_at >= " + p.add(.date(since))) }
        if let until = filter.until { conditions.append("created_at < " + p.add(.date(until))) }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let rows = try database.query("""
            SELECT id, created_at, actor, action, target_type, target_id, details, client_address FROM audit_log
            \(whereClause) \(slice.orderAndWindow("created_at", tieBreaker: "id", &p))
            """, p.values)
        let entries = try rows.prefix(slice.limit - 1).map { row in
            AuditEntry(id: try row.int("id"), at: try row.date("created_at"), actor: try row.string("actor"),
                       action: try row.string("action"), targetType: try row.string("target_type"),
                       targetID: try row.string("target_id"), details: try row.string("details"),
                       clientAddress: try row.string("client_address"))
        }
        return ListResult(rows: entries, hasMore: rows.count >= slice.limit)
    }

    /// Many rows at once, for the benchmark's bulk load.
    static func insertMany(_ conn: DatabaseConnection, _ rows: [(at: Date, actor: String, action: AuditAction, target: String, details: String)]) throws {
        var p = SQLParameters()
        let tuples = rows.map { r in
            "(" + p.list([.date(r.at), .null, .text(r.actor), .text(r.action.rawValue), .text(r.action.targetType), .text(r.target),
                          .text(r.details), .text("127.0.0.1")]) + ")"
        }
        try conn.execute("""
            INSERT INTO audit_log (created_at, actor_id, actor, action, target_type, target_id, details, client_address)
            VALUES \(tuples.joined(separator: ", "))
            """, p.values)
    }
}
