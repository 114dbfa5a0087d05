import Foundation
import HTTPServer

/// `GET /deployments.csv` and `/deployments.json`: every deployment the table would list for
/// the same query string, in the same order, however many pages that is (`page` and `per`
/// are ignored).
extension DeploymentRoutes {
    static func exportDeployments(_ app: TrainyardApp, _ ctx: WebContext, _ format: ExportFormat) throws -> HTTPResponse {
        let slice = ListRequest(list, ctx.request.query).slice
        let store = DeploymentStore(database: app.database)
        return try TableExport.response(format, filename: "deployments", columns: exportColumns, request: ctx.request) { cursor in
            try store.listBatch(slice, after: cursor, limit: TableExport<DeploymentListRow>.batchSize)
        }
    }

    /// The table's columns with every figure it rounds or hides. The inference figures are
    /// null unless the deployment is active, as the table shows them only then.
    static let exportColumns: [ExportColumn<DeploymentListRow>] = [
        .init("id") { .int($0.id) },
        .init("model") { .text($0.modelName) },
        .init("name") { .text($0.name) },
        .init("version") { .text($0.version) },
        .init("status") { .text($0.status.rawValue) },
        .init("replicas_target") { .int($0.targetReplicas) },
        .init("replicas_running") { .int($0.runningReplicas) },
        .init("rps") { activeFigure($0, \.rps) },
        .init("p50_ms") { activeFigure($0, \.p50) },
        .init("p95_ms") { activeFigure($0, \.p95) },
        .init("p99_ms") { activeFigure($0, \.p99) },
        .init("error_rate") { activeFigure($0, \.errorRate) },
        .init("created_at") { .date($0.createdAt) },
    ]

    private static func activeFigure(_ row: DeploymentListRow, _ figure: KeyPath<DeploymentStats, Double>) -> ExportValue {
        row.status == .active ? .number(row.stats[keyPath: figure]) : .null
    }
}
