import Foundation
import HTTPServer
import TemplateEngine

/// `GET /training/jobs/{id}`: the monitor. Live while running: `monitor.js` polls
/// `/training/jobs/{id}/live` for the figures and charts, or, without JavaScript, the browser
/// reloads the page every few seconds.
extension TrainingRoutes {
    static let noSuchJob = "There is no training job with this id."

    static func showJob(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let monitor = try jobMonitor(app, ctx)
        let job = monitor.job
        let deployment = job.status == .complete
            ? try DeploymentStore(database: app.database).liveDeployments(ofJobs: [job.id])[job.id] : nil
        let view = JobMonitorView(
            monitor: monitor, actions: actions(for: job, deployment: nil, labels: .page), deployment: deployment,
            notesHTML: job.notes.isEmpty ? nil : MarkdownRenderer().render(job.notes).html)
        return try app.web.render(view, ctx)
    }

    /// `GET /training/jobs/{id}/live`: the monitor's changing parts, already formatted, so the
    /// script only puts them in place: `{status, values: {name: text}, charts: {name: svg}}`.
    static func liveJob(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let monitor = try jobMonitor(app, ctx)
        return JSON.response(JobMonitorLive(status: monitor.job.status.rawValue, currentStep: monitor.job.currentStep,
                                            values: monitor.liveValues, charts: monitor.charts))
    }

    private static func jobMonitor(_ app: TrainyardApp, _ ctx: WebContext) throws -> JobMonitor {
        guard let id = ctx.idParameter() else { throw HTTPError.notFound(noSuchJob) }
        let store = JobStore(database: app.database)
        guard let job = try store.find(id) else { throw HTTPError.notFound(noSuchJob) }
        return JobMonitor(job: job, latest: try store.latestMetric(id),
                          series: try app.chartCache.series(for: job, store: store),
                          stepsPerSecond: TrainingRunner.stepsPerSecond * app.configuration.simulationSpeed, now: Date())
    }
}

/// The figures and charts of a job's monitor, formatted once for the page and the live endpoint.
struct JobMonitor {
    var job: TrainingJob
    var latest: TrainingMetric?
    var charts: [String: String]
    /// Text of each element marked `data-live="name"` on the page.
    var liveValues: [String: String]
    var hasEstimate: Bool
    var now: Date

    init(job: TrainingJob, latest: TrainingMetric?, series: MetricChartCache.Series, stepsPerSecond: Double, now: Date) {
        self.job = job
        self.latest = latest
        self.now = now
        // At most 2 × 250 points per chart, whatever the step count.
        let xRange = 0...Double(max(job.totalSteps, 1))
        let loss = LineChart(title: "Training loss", xLabel: "Step", yLabel: "Loss",
                             series: [.init(label: "Loss", cssClass: "series-loss", points: series.loss.map { (Double($0.step), $0.value) })],
                             xRange: xRange)
        let accuracy = LineChart(title: "Accuracy", xLabel: "Step", yLabel: "Accuracy (%)",
                                 series: [.init(label: "Accuracy", cssClass: "series-accuracy",
                                                points: series.accuracy.map { (Double($0.step), $0.value) })],
                                 yRange: 0...1, xRange: xRange, formatY: { String(format: "%.0f", $0 * 100) })
        charts = ["loss": loss.svg(id: "loss-chart"), "accuracy": accuracy.svg(id: "accuracy-chart")]

        var values: [String: String] = [
            "percent": "\(job.percent)%",
            "step": String(job.currentStep),
            "epoch": String(job.currentEpoch),
            "elapsed": job.startedAt.map { Format.duration((job.finishedAt ?? now).timeIntervalSince($0)) } ?? "not started",
            "eta": "—",
            "latest-step": "—", "latest-epoch": "—", "latest-loss": "—", "latest-accuracy": "—",
        ]
        hasEstimate = job.status == .running
        if hasEstimate {
            values["eta"] = "about " + Format.duration(Double(job.totalSteps - job.currentStep) / stepsPerSecond)
        }
        if let latest {
            values["latest-step"] = String(latest.step)
            values["latest-epoch"] = String(latest.epoch)
            values["latest-loss"] = String(format: "%.4f", latest.loss)
            values["latest-accuracy"] = String(format: "%.1f%%", latest.accuracy * 100)
        }
        liveValues = values
    }
}

/// `GET /training/jobs/{id}/live` body.
struct JobMonitorLive: Encodable {
    var status: String
    var currentStep: Int
    var values: [String: String]
    var charts: [String: String]
}

struct JobMonitorView: PageView {
    static let template = "training/show"
    var title: String { monitor.job.name }
    let section: NavSection? = .training

    var monitor: JobMonitor
    var actions: [ActionButton]
    /// The job's live deployment, linked instead of offering Deploy.
    var deployment: Int?
    var notesHTML: String?

    func members() -> [String: TemplateValue] {
        let job = monitor.job
        var live: [String: TemplateValue] = [:]
        for (name, text) in monitor.liveValues { live[name] = .string(text) }
        return [
            "job": [
                "id": .int(job.id), "name": .string(job.name), "model": .string(job.modelName),
                "modelHref": .string(Paths.model(job.modelSlug)), "status": Badge.of(job.status),
                "epochs": .int(job.epochs), "learningRate": .string(Format.learningRate(job.learningRate)), "batchSize": .int(job.batchSize),
                "currentStep": .int(job.currentStep), "totalSteps": .int(job.totalSteps), "percent": .int(job.percent),
                "created": Format.timestamp(job.createdAt, now: monitor.now),
                "failureReason": .optional(job.failureReason),
                "isRunning": .bool(job.status == .running),
                "canDeploy": .bool(job.status == .complete && deployment == nil),
            ],
            "live": .object(live),
            "hasLatest": .bool(monitor.latest != nil),
            "deploymentHref": .optional(deployment.map(Paths.deployment)),
            "lossChart": .string(monitor.charts["loss"] ?? ""),
            "accuracyChart": .string(monitor.charts["accuracy"] ?? ""),
            "actions": actions.templateValue,
            "returnTo": .string(Paths.job(job.id)),
            "liveHref": .string(Paths.job(job.id) + "/live"),
            "jobsHref": .string(Paths.jobs),
            "deployAction": .string(Paths.deployments),
            "deployFormHref": .string(DeploymentRoutes.newPath(jobID: job.id)),
            "refreshSeconds": .int(3),
            "notesHTML": .optional(notesHTML),
        ]
    }
}
