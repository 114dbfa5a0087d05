import Foundation
import HTTPServer
import TemplateEngine

/// `GET /training/jobs/{id}`: the monitor. Live while running: polled by a small script, or
/// refreshed by the browser every few seconds when JavaScript is off.
extension TrainingRoutes {
    static func showJob(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter() else { throw HTTPError.notFound("There is no training job with this id.") }
        let store = JobStore(database: app.database)
        guard let job = try store.find(id) else { throw HTTPError.notFound("There is no training job with this id.") }
        let now = Date()
        let latest = try store.latestMetric(id)
        // At most 2 × 250 points per chart, whatever the step count.
        let series = try app.chartCache.series(for: job, database: app.database)
        let loss = series.loss, accuracy = series.accuracy
        let xRange = 0...Double(max(job.totalSteps, 1))
        let lossChart = LineChart(title: "Training loss", xLabel: "Step", yLabel: "Loss",
                                  series: [.init(label: "Loss", cssClass: "series-loss", points: loss.map { (Double($0.step), $0.value) })],
                                  xRange: xRange)
        let accuracyChart = LineChart(title: "Accuracy", xLabel: "Step", yLabel: "Accuracy (%)",
                                      series: [.init(label: "Accuracy", cssClass: "series-accuracy", points: accuracy.map { (Double($0.step), $0.value) })],
                                      yRange: 0...1, xRange: xRange, formatY: { String(format: "%.0f", $0 * 100) })

        let stepsPerSecond = TrainingRunner.stepsPerSecond * app.configuration.simulationSpeed
        var eta: String?
        if job.status == .running {
            let remaining = Double(job.totalSteps - job.currentStep) / stepsPerSecond
            eta = Format.duration(remaining)
        }
        let elapsed: String? = job.startedAt.map { Format.duration((job.finishedAt ?? now).timeIntervalSince($0)) }

        var actions: [TemplateValue] = []
        if job.status == .queued {
            actions.append(["label": "Start training", "action": .string(Paths.job(id) + "/start"), "primary": true])
        }
        if job.status == .queued || job.status == .running {
            actions.append(["label": "Stop", "action": .string(Paths.job(id) + "/stop"), "danger": true])
        }
        let liveDeployment = job.status == .complete ? try store.liveDeployments(of: [id])[id] : nil
        var data: [String: TemplateValue] = [
            "job": [
                "id": .int(job.id), "name": .string(job.name), "model": .string(job.modelName),
                "modelHref": .string(Paths.model(job.modelSlug)), "status": Badge.job(job.status),
                "epochs": .int(job.epochs), "learningRate": .string(formatRate(job.learningRate)), "batchSize": .int(job.batchSize),
                "currentStep": .int(job.currentStep), "totalSteps": .int(job.totalSteps), "currentEpoch": .int(job.currentEpoch),
                "percent": .int(Int((job.progress * 100).rounded(.down))),
                "created": Format.timestamp(job.createdAt, now: now),
                "failureReason": job.failureReason.map { .string($0) } ?? .null,
                "isRunning": .bool(job.status == .running),
                "canDeploy": .bool(job.status == .complete && liveDeployment == nil),
            ],
            "deploymentHref": liveDeployment.map { .string(Paths.deployment($0)) } ?? .null,
            "eta": eta.map { .string($0) } ?? .null,
            "elapsed": elapsed.map { .string($0) } ?? .null,
            "lossChart": .string(lossChart.svg(id: "loss-chart")),
            "accuracyChart": .string(accuracyChart.svg(id: "accuracy-chart")),
            "actions": .list(actions),
            "returnTo": .string(Paths.job(id)),
            "apiHref": .string("/api/training/\(id)/metrics"),
            "jobsHref": .string(Paths.jobs),
            "deployAction": .string(Paths.deployments),
            "deployFormHref": .string(DeploymentRoutes.newPath(jobID: id)),
            "refreshSeconds": .int(3),
        ]
        if let latest {
            data["latest"] = ["step": .int(latest.step), "epoch": .int(latest.epoch),
                              "loss": .string(String(format: "%.4f", latest.loss)),
                              "accuracy": .string(String(format: "%.1f%%", latest.accuracy * 100))]
        }
        if !job.notes.isEmpty {
            data["notesHTML"] = .string(MarkdownRenderer().render(job.notes).html)
        }
        return try app.web.page("training/show", title: job.name, section: .training, data, ctx)
    }
}

extension Format {
    /// "42 s", "3 min 5 s", "2 h 10 min".
    static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded()))
        if s < 60 { return "\(s) s" }
        if s < 3600 { return s % 60 == 0 ? "\(s / 60) min" : "\(s / 60) min \(s % 60) s" }
        let h = s / 3600, m = (s % 3600) / 60
        if h < 48 { return m == 0 ? "\(h) h" : "\(h) h \(m) min" }
        return "\(h / 24) days"
    }
}
