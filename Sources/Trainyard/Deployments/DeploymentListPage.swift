import Foundation
import HTTPServer
import TemplateEngine

/// `GET /deployments`: filter, sort and page in SQL; the URL is the state.
///
/// Per-status counts come from `deployment_status_counts`, never a COUNT. Paging is a bounded
/// OFFSET (at most `maxOffset` rows deep) with a "next" link found by asking for one row more
/// than the page shows; no total page count is computed.
extension DeploymentRoutes {
    static let list = ListDefinition<DeploymentSortKey, DeploymentStatus>(
        path: Paths.deployments, noun: "Deployments", defaultSort: .created, exportable: true)
    /// P50 and P99 sort from links under the table rather than columns of their own.
    static let headerKeys: [DeploymentSortKey] = [.model, .version, .status, .rps, .p95, .errors, .created]

    static func listDeployments(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let request = ListRequest(list, ctx.request.query)
        let store = DeploymentStore(database: app.database)
        let result = try store.list(request.slice)
        let chrome = ListChrome(request, shown: result.rows.count, hasMore: result.hasMore,
                                counts: try store.statusCounts(), headerKeys: headerKeys)
        let now = Date()
        return try app.web.render(DeploymentListView(table: ListTable(chrome: chrome, rows: result.rows.map { .init(row: $0, now: now) })), ctx)
    }
}

struct DeploymentListView: PageView {
    static let template = "deployments/index"
    let title = "Deployments"
    let section: NavSection? = .deployments

    var table: ListTable<DeploymentSortKey, DeploymentStatus, Row>

    struct Row: TemplateConvertible {
        var row: DeploymentListRow
        var now: Date

        var templateValue: TemplateValue {
            let active = row.status == .active
            return [
                "model": .string(row.modelName), "name": .string(row.name), "href": .string(Paths.deployment(row.id)),
                "version": .string(row.version), "status": Badge.of(row.status),
                "running": .int(row.runningReplicas), "target": .int(row.targetReplicas), "active": .bool(active),
                "rps": .string(Format.requestsPerSecond(row.stats.rps)),
                "p95": .string(Format.milliseconds(row.stats.p95)), "p95High": .bool(active && row.stats.p95IsHigh),
                "errors": .string(Format.percent(row.stats.errorRate)), "errorsHigh": .bool(active && row.stats.errorsAreHigh),
                "created": Format.timestamp(row.createdAt, now: now),
            ]
        }
    }

    func members() -> [String: TemplateValue] {
        var m = table.members()
        m["jobsHref"] = .string(Paths.with(Paths.jobs, [("status", JobStatus.complete.rawValue)]))
        return m
    }
}
