import Foundation
import HTTPServer

/// `GET /api/training/{id}/metrics?since=&limit=`: a job and its metrics after step `since`.
extension TrainingRoutes {
    static let maxMetricsPerRequest = 10_000

    static func jobMetricsAPI(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter() else {
            return JSON.error("The job id must be a positive whole number.", status: 400)
        }
        let store = JobStore(database: app.database)
        guard let job = try store.find(id) else { return JSON.error("There is no training job with id \(id).", status: 404) }
        var since = 0
        if let text = ctx.request.query["since"] {
            guard let value = Int(text), value >= 0 else { return JSON.error("since must be a step number (0 or more).", status: 400) }
            since = value
        }
        var limit = maxMetricsPerRequest
        if let text = ctx.request.query["limit"] {
            guard let value = Int(text), value >= 1 else { return JSON.error("limit must be a positive whole number.", status: 400) }
            limit = min(value, maxMetricsPerRequest)
        }
        return JSON.response(JobMetricsResponse(job: .init(job), metrics: try store.metrics(id, since: since, limit: limit)))
    }
}

/// `GET /api/training/{id}/metrics` body.
struct JobMetricsResponse: Encodable {
    struct Job: Encodable {
        var id: Int
        var name: String
        var model: String
        var status: String
        var epochs: Int
        var learningRate: Double
        var batchSize: Int
        var currentStep: Int
        var totalSteps: Int
        var progress: Double
        var failureReason: String?
        var createdAt: String
        var startedAt: String?
        var finishedAt: String?

        init(_ job: TrainingJob) {
            id = job.id; name = job.name; model = job.modelSlug; status = job.status.rawValue; epochs = job.epochs
            learningRate = job.learningRate; batchSize = job.batchSize; currentStep = job.currentStep
            totalSteps = job.totalSteps; progress = job.progress; failureReason = job.failureReason
            createdAt = Format.iso(job.createdAt); startedAt = job.startedAt.map(Format.iso); finishedAt = job.finishedAt.map(Format.iso)
        }
    }

    var job: Job
    var metrics: [TrainingMetric]
}
