import Foundation
import HTTPServer
import TemplateEngine

/// `GET /audit`: who changed what, newest first, with the same query-string contract as the
/// other tables: `actor`, `action` (repeatable), `target` (`deployment` or `deployment:12`),
/// `since`, `until` (a date, or a date and time in UTC), `page`, `per`.
enum AuditRoutes {
    static let list = ListDefinition<AuditSortKey, AuditAction>(path: Paths.audit, noun: "Entries", defaultSort: .time,
                                                                defaultPerPage: 50, statusName: "action")

    static func add(to app: TrainyardApp) {
        app.get(Paths.audit) { [unowned app] ctx in try listAudit(app, ctx) }
    }

    static func listAudit(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let query = ctx.request.query
        var request = ListRequest(list, query)
        var filter = AuditStore.Filter()
        var notes: [String] = []
        if let actor = query["actor"]?.trimmingCharacters(in: .whitespaces), !actor.isEmpty {
            filter.actor = String(actor.prefix(64))
            request.addFilter("actor", value: filter.actor!, description: "by \(filter.actor!)")
        }
        if let target = query["target"]?.trimmingCharacters(in: .whitespaces), !target.isEmpty {
            let parts = target.split(separator: ":", maxSplits: 1).map(String.init)
            let types = Set(AuditAction.allCases.map(\.targetType))
            if let type = parts.first, types.contains(type) {
                filter.targetType = type
                if parts.count == 2, !parts[1].isEmpty { filter.targetID = parts[1].prefix(scalars: 64) }
                request.addFilter("target", value: target, description: "on \(filter.targetID.map { "\(type) \($0)" } ?? type)")
            } else {
                notes.append("There is no target “\(String(target.prefix(40)))”; use one of \(types.sorted().joined(separator: ", ")), optionally with :id.")
            }
        }
        for (name, word) in [("since", "since"), ("until", "before")] {
            guard let text = query[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { continue }
            if let date = parseTime(text) {
                if name == "since" { filter.since = date } else { filter.until = date }
                request.addFilter(name, value: text, description: "\(word) \(Format.exact(date))")
            } else {
                notes.append("“\(String(text.prefix(40)))” is not a time; write 2026-12-01 or 2026-12-01T14:30 (UTC).")
            }
        }
        let result = try AuditStore(database: app.database).list(request.slice, filter)
        let chrome = ListChrome(request, shown: result.rows.count, hasMore: result.hasMore, counts: [:], headerKeys: [.time])
        return try app.web.render(AuditView(chrome: chrome, entries: result.rows, notes: notes, filter: filter,
                                            actions: request.statuses, typed: query, now: Date()), ctx)
    }

    /// `2026-12-01`, `2026-12-01T14:30`, `2026-12-01T14:30:05`, optionally ending in `Z`: UTC.
    static func parseTime(_ text: String) -> Date? {
        var t = text
        if t.hasSuffix("Z") { t.removeLast() }
        let pieces = t.split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
        let day = pieces[0].split(separator: "-", omittingEmptySubsequences: false).compactMap { Int($0) }
        guard day.count == 3, (1970...9999).contains(day[0]), (1...12).contains(day[1]), (1...31).contains(day[2]) else { return nil }
        var clock = [0, 0, 0]
        if pieces.count == 2 {
            let parts = pieces[1].split(separator: ":", omittingEmptySubsequences: false).compactMap { Int($0) }
            guard (2...3).contains(parts.count), parts.count == pieces[1].split(separator: ":").count,
                  (0...23).contains(parts[0]), (0...59).contains(parts[1]), parts.count == 2 || (0...59).contains(parts[2]) else { return nil }
            clock = parts + (parts.count == 2 ? [0] : [])
        }
        var components = DateComponents()
        components.year = day[0]; components.month = day[1]; components.day = day[2]
        components.hour = clock[0]; components.minute = clock[1]; components.second = clock[2]
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: components),
              calendar.component(.day, from: date) == day[2] else { return nil }   // no 31 February
        return date
    }
}

struct AuditView: PageView {
    static let template = "audit/index"
    let title = "Audit trail"
    let section: NavSection? = .audit

    var chrome: ListChrome<AuditSortKey, AuditAction>
    var entries: [AuditEntry]
    var notes: [String]
    var filter: AuditStore.Filter
    var actions: [AuditAction]
    var typed: QueryParameters
    var now: Date

    func members() -> [String: TemplateValue] {
        var m = chrome.templateMembers()
        m["rows"] = .list(entries.map { e in
            ["at": Format.timestamp(e.at, now: now), "actor": .string(e.actor), "action": .string(e.action),
             "target": .string(e.targetID.isEmpty ? e.targetType : "\(e.targetType) \(e.targetID)"),
             "details": .string(e.details), "address": .string(e.clientAddress),
             "actorHref": .string(Paths.with(Paths.audit, [("actor", e.actor)]))]
        })
        m["notes"] = .list(notes.map { .string($0) })
        m["actorValue"] = .string(filter.actor ?? "")
        m["targetValue"] = .string(typed["target"] ?? "")
        m["sinceValue"] = .string(typed["since"] ?? "")
        m["untilValue"] = .string(typed["until"] ?? "")
        m["actionOptions"] = .list(AuditAction.allCases.map { a in
            ["value": .string(a.rawValue), "label": .string(a.rawValue), "selected": .bool(actions.contains(a))]
        })
        return m
    }
}
