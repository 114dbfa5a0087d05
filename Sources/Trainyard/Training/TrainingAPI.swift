import Foundation
import HTTPServer

/// `GET /api/training/{id}/metrics?key=&since=&limit=`: a job and its metrics (every key, or
/// the `key`s asked for) after step `since`, at most `limit` points per key.
extension TrainingRoutes {
    static let maxMetricsPerRequest = 10_000

    static func jobMetricsAPI(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter() else {
            return JSON.error("The job id must be a positive whole number.", status: 400)
        }
        guard let job = try JobStore(database: app.database).find(id) else { return JSON.error("There is no training job with id \(id).", status: 404) }
        var since = Int.min
        if let text = ctx.request.query["since"] {
            guard let value = Int(text), value >= 0 else { return JSON.error("since must be a step number (0 or more).", status: 400) }
            since = value
        }
        var limit = maxMetricsPerRequest
        if let text = ctx.request.query["limit"] {
            guard let value = Int(text), value >= 1 else { return JSON.error("limit must be a positive whole number.", status: 400) }
            limit = min(value, maxMetricsPerRequest)
        }
        let store = MetricStore(database: app.database)
        let summaries = JobMonitor.ordered(try store.summaries(id))
        let requested = ctx.request.query.all("key")
        let known = Set(summaries.map(\.key))
        if let unknown = requested.first(where: { !known.contains($0) }) {
            return JSON.error("This job has no metric '\(unknown)'; its keys are: \(summaries.map(\.key).joined(separator: ", ")).", status: 404)
        }
        let keys = requested.isEmpty ? summaries.map(\.key) : requested
        var series: [JobMetricsResponse.Series] = []
        for key in keys {
            let points = try store.points(id, key: key, after: since, limit: limit)
            series.append(.init(key: key, points: points.map { .init(step: $0.step, value: $0.value, timestamp: Format.iso($0.recordedAt)) }))
        }
        return JSON.response(JobMetricsResponse(job: .init(job), metrics: series))
    }
}

/// `GET /api/training/{id}/metrics` body.
struct JobMetricsResponse: Encodable {
    struct Job: Encodable {
        var id: Int
        var name: String
        var source: String
        var model: String?
        var experiment: String?
        var runId: String?
        var status: String
        var epochs: Int?
        var learningRate: Double?
        var batchSize: Int?
        var currentStep: Int
        var totalSteps: Int?
        var progress: Double?
        var failureReason: String?
        var createdAt: String
        var startedAt: String?
        var finishedAt: String?

        init(_ job: TrainingJob) {
            id = job.id; name = job.name; source = job.source.rawValue; model = job.modelSlug; experiment = job.experiment?.name
            runId = job.run?.runID; status = job.status.rawValue; epochs = job.plan?.epochs
            learningRate = job.plan?.learningRate; batchSize = job.plan?.batchSize; currentStep = job.currentStep
            totalSteps = job.totalSteps; progress = job.progress; failureReason = job.failureReason
            createdAt = Format.iso(job.createdAt); startedAt = job.startedAt.map(Format.iso); finishedAt = job.finishedAt.map(Format.iso)
        }
    }

    struct Point: Encodable {
        var step: Int
        /// NaN and infinities come out as "NaN", "Infinity", "-Infinity" (JSON's encoder setting).
        var value: Double
        var timestamp: String
    }

    struct Series: Encodable {
        var key: String
        var points: [Point]
    }

    var job: Job
    /// One entry per key asked for (`key=`, repeatable), or every key, usual ones first.
    var metrics: [Series]
}
