import Foundation
import HTTPServer
import Storage
import TemplateEngine

/// `GET /deployments`: filter, sort and page in SQL; the URL is the state.
///
/// Fast at 100k+ rows: every sort key has an index led by it (and one led by `status` then the
/// key) with `id` as tie-breaker, partial on live rows, so `ORDER BY key, id LIMIT per+1` reads
/// only the rows it shows. Per-status counts come from `deployment_status_counts`, never a
/// COUNT. Paging is a bounded OFFSET (at most `maxOffset` rows deep) with a "next" link found
/// by asking for one row more than the page shows; no total page count is computed.
extension DeploymentRoutes {
    static let sortKeys: [String: TableQuery.Direction] = [
        "model": .asc, "version": .desc, "status": .asc, "rps": .desc, "p50": .desc, "p95": .desc, "p99": .desc,
        "errors": .desc, "created": .desc,
    ]

    /// Whitelisted ORDER BY columns; user input only ever picks one of these.
    static let sortColumns: [String: String] = [
        "model": "model_name", "version": "version_number", "status": "status", "rps": "rps", "p50": "p50_ms",
        "p95": "p95_ms", "p99": "p99_ms", "errors": "error_rate", "created": "created_at",
    ]

    static let sortLabels: [String: String] = [
        "model": "model", "version": "version", "status": "status", "rps": "requests per second", "p50": "P50 latency",
        "p95": "P95 latency", "p99": "P99 latency", "errors": "error rate", "created": "deployed",
    ]

    /// Deepest row a page may start at: deeper pages would make the database skip that many rows.
    static let maxOffset = 10_000

    /// Thresholds from the monitoring guidance: P50 above 200 ms is a warning, P95 above 500 ms
    /// and errors above 1 % are critical.
    static let p50Warning = 200.0, p95Critical = 500.0, errorCritical = 0.01

    static func listDeployments(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let now = Date()
        var query = TableQuery(ctx.request.query, statuses: DeploymentStatus.allCases.map(\.rawValue), sortKeys: sortKeys,
                               defaultSort: "created")
        var clamped = false
        if query.offset > maxOffset {
            query.page = maxOffset / query.perPage + 1
            clamped = true
        }

        var conditions = ["deleted_at IS NULL"]
        var parameters: [SQLValue] = []
        func placeholder(_ value: SQLValue) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        if !query.q.isEmpty {
            let pattern = placeholder(.text("%" + TrainingRoutes.likeEscaped(query.q.lowercased()) + "%"))
            conditions.append("(LOWER(model_name) LIKE \(pattern) ESCAPE '\\' OR LOWER(name) LIKE \(pattern) ESCAPE '\\')")
        }
        if query.statuses.count == 1 {
            conditions.append("status = " + placeholder(.text(query.statuses[0])))
        } else if !query.statuses.isEmpty {
            conditions.append("status IN (" + query.statuses.map { placeholder(.text($0)) }.joined(separator: ", ") + ")")
        }
        let direction = query.direction == .asc ? "ASC" : "DESC"
        let column = sortColumns[query.sort] ?? "created_at"
        let limit = placeholder(.int(Int64(query.perPage + 1)))
        let offset = placeholder(.int(Int64(query.offset)))
        let rows = try app.database.query("""
            SELECT d.id, d.model_name, d.name, d.version, d.status, d.target_replicas, d.rps, d.p50_ms, d.p95_ms, d.p99_ms,
                d.error_rate, d.created_at,
                (SELECT COUNT(*) FROM deployment_replicas r WHERE r.deployment_id = d.id AND r.status = 'running') AS running
            FROM deployments d WHERE \(conditions.joined(separator: " AND "))
            ORDER BY \(column) \(direction), id \(direction) LIMIT \(limit) OFFSET \(offset)
            """, parameters)
        let hasNext = rows.count > query.perPage && query.offset + query.perPage <= maxOffset

        var counts: [String: Int] = [:]
        for row in try app.database.query("SELECT status, count FROM deployment_status_counts", []) {
            counts[try row.string("status")] = try row.int("count")
        }
        let total = counts.values.reduce(0, +)
        let currentPath = Paths.with(Paths.deployments, query.pairs())

        let rowValues: [TemplateValue] = try rows.prefix(query.perPage).map { row in
            let id = try row.int("id")
            let status = DeploymentStatus(rawValue: try row.string("status")) ?? .failed
            let active = status == .active
            let p95 = try row.double("p95_ms"), errorRate = try row.double("error_rate")
            return [
                "model": .string(try row.string("model_name")), "name": .string(try row.string("name")),
                "href": .string(Paths.deployment(id)), "version": .string(try row.string("version")),
                "status": Badge.deployment(status),
                "running": .int(try row.int("running")), "target": .int(try row.int("target_replicas")),
                "active": .bool(active),
                "rps": .string(formatRate(try row.double("rps"))),
                "p95": .string(formatMs(p95)), "p95High": .bool(active && p95 > p95Critical),
                "errors": .string(formatPercent(errorRate)), "errorsHigh": .bool(active && errorRate > errorCritical),
                "created": Format.timestamp(try row.date("created_at"), now: now),
                "returnTo": .string(currentPath),
            ]
        }

        func header(_ key: String, _ label: String, numeric: Bool = false) -> TemplateValue {
            ["label": .string(label), "href": .string(query.sortLink(Paths.deployments, key: key)), "ariaSort": .string(query.ariaSort(key)),
             "sorted": .bool(query.sort == key), "ascending": .bool(query.direction == .asc), "numeric": .bool(numeric)]
        }
        let statusFilters: [TemplateValue] = DeploymentStatus.allCases.map { status in
            ["value": .string(status.rawValue), "label": .string(status.label), "count": .int(counts[status.rawValue] ?? 0),
             "checked": .bool(query.statuses.contains(status.rawValue)), "id": .string("status-\(status.rawValue)")]
        }
        var applied: [String] = []
        if !query.statuses.isEmpty { applied.append("status " + query.statuses.joined(separator: " or ")) }
        if !query.q.isEmpty { applied.append("matching “\(query.q)”") }
        let empty = rowValues.isEmpty
        let nothingAtAll = empty && total == 0 && !query.isFiltered && query.page == 1

        return try app.web.page("deployments/index", title: "Deployments", section: .deployments, [
            "deployments": .list(rowValues),
            "hasDeployments": .bool(!empty),
            "noDeploymentsAtAll": .bool(nothingAtAll),
            "noMatches": .bool(empty && !nothingAtAll && query.page == 1),
            "pastTheEnd": .bool(empty && !nothingAtAll && query.page > 1),
            "clamped": .bool(clamped),
            "maxPage": .int(query.page),
            "q": .string(query.q),
            "statusFilters": .list(statusFilters),
            "per": .int(query.perPage),
            "sort": .string(query.sort), "dir": .string(query.direction.rawValue),
            "headers": [
                "model": header("model", "Model"), "version": header("version", "Version"), "status": header("status", "Status"),
                "rps": header("rps", "Req/s", numeric: true), "p95": header("p95", "P95", numeric: true),
                "errors": header("errors", "Errors", numeric: true), "created": header("created", "Deployed"),
            ],
            "otherSorts": .list(["p50": "P50", "p99": "P99"].sorted { $0.key < $1.key }.map { key, label in
                ["label": .string("Sort by \(label)"), "href": .string(query.sortLink(Paths.deployments, key: key)),
                 "current": .bool(query.sort == key)]
            }),
            "applied": .string(applied.isEmpty ? "All deployments" : "Deployments with " + applied.joined(separator: ", ")),
            "sortDescription": .string("sorted by \(sortLabels[query.sort] ?? query.sort), \(query.direction == .asc ? "ascending" : "descending")"),
            "page": .int(query.page),
            "total": .int(total),
            "firstHref": .string(query.pageLink(Paths.deployments, page: 1)),
            "prevHref": query.page > 1 ? .string(query.pageLink(Paths.deployments, page: query.page - 1)) : .null,
            "nextHref": hasNext ? .string(query.pageLink(Paths.deployments, page: query.page + 1)) : .null,
            "clearHref": .string(Paths.deployments),
            "jobsHref": .string(Paths.with(Paths.jobs, [("status", "complete")])),
            "listPath": .string(Paths.deployments),
        ], ctx)
    }

    static func formatRate(_ rps: Double) -> String {
        rps >= 100 ? fixed(rps, 0) : fixed(rps, 1)
    }

    static func formatMs(_ ms: Double) -> String {
        ms >= 1000 ? fixed(ms / 1000, 2) + " s" : fixed(ms, 0) + " ms"
    }

    static func formatPercent(_ fraction: Double) -> String {
        fixed(fraction * 100, 2) + " %"
    }

    /// `value` rounded to `decimals` places, without `String(format:)`: the table formats
    /// several numbers per row and this is measurably cheaper on every request.
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "—" }
        let scale = [1.0, 10, 100, 1000][min(max(decimals, 0), 3)]
        let scaled = Int64((abs(value) * scale).rounded())
        let whole = String(scaled / Int64(scale))
        let sign = value < 0 && scaled != 0 ? "-" : ""
        guard decimals > 0 else { return sign + whole }
        var fraction = String(scaled % Int64(scale))
        while fraction.count < decimals { fraction = "0" + fraction }
        return sign + whole + "." + fraction
    }
}
