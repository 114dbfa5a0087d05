import Foundation
import HTTPServer

/// `GET /training/jobs.csv` and `/training/jobs.json`: every job the list would show for the
/// same query string (`model` and `experiment` included), in the same order, however many pages
/// that is (`page` and `per` are ignored).
extension TrainingRoutes {
    static func exportJobs(_ app: TrainyardApp, _ ctx: WebContext, _ format: ExportFormat) throws -> HTTPResponse {
        let query = try JobListQuery(app, ctx.request.query)
        let slice = query.request.slice, filters = query.filters
        let store = JobStore(database: app.database)
        return try TableExport.response(format, filename: "jobs", columns: exportColumns, request: ctx.request) { cursor in
            try store.listBatch(slice, filters: filters, after: cursor, limit: TableExport<TrainingJob>.batchSize)
        }
    }

    /// The list's columns plus the id and timestamps. A reported run has no plan: its epochs,
    /// learning rate and progress are null and its latest step says how far it got.
    static let exportColumns: [ExportColumn<TrainingJob>] = [
        .init("id") { .int($0.id) },
        .init("name") { .text($0.name) },
        .init("model") { ExportValue($0.modelName) },
        .init("experiment") { ExportValue($0.experiment?.name) },
        .init("status") { .text($0.status.rawValue) },
        .init("source") { .text($0.source.rawValue) },
        .init("epochs") { ExportValue($0.plan?.epochs) },
        .init("learning_rate") { ExportValue($0.plan?.learningRate) },
        .init("progress_percent") { ExportValue($0.percent) },
        .init("current_step") { .int($0.currentStep) },
        .init("created_at") { .date($0.createdAt) },
        .init("started_at") { ExportValue($0.startedAt) },
        .init("finished_at") { ExportValue($0.finishedAt) },
    ]
}
