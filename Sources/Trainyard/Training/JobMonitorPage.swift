import Foundation
import HTTPServer
import TemplateEngine

/// `GET /training/jobs/{id}[?x=time]`: the monitor, a chart per metric key against the step
/// or wall time. Live while running: `monitor.js` polls `/training/jobs/{id}/live` for the
/// figures and charts, or, without JavaScript, the browser reloads the page every few seconds.
extension TrainingRoutes {
    static let noSuchJob = "There is no training job with this id."

    static func showJob(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let monitor = try jobMonitor(app, ctx)
        let job = monitor.job
        let deployment = job.status == .complete
            ? try DeploymentStore(database: app.database).liveDeployments(ofJobs: [job.id])[job.id] : nil
        let runData = RunDataStore(database: app.database)
        let models = job.source == .reported && job.model == nil ? try ModelStore(database: app.database).all() : []
        let view = JobMonitorView(
            monitor: monitor, actions: actions(for: job, deployment: nil, labels: .page), deployment: deployment,
            notesHTML: job.notes.isEmpty ? nil : MarkdownRenderer().render(job.notes).html,
            params: try runData.all(.params, of: job.id), tags: try runData.all(.tags, of: job.id), models: models)
        return try app.web.render(view, ctx)
    }

    /// `GET /training/jobs/{id}/live`: the monitor's changing parts, already formatted, so the
    /// script only puts them in place: `{status, keys, values: {name: text}, charts: {key: svg}}`.
    static func liveJob(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let monitor = try jobMonitor(app, ctx)
        return JSON.response(JobMonitorLive(status: monitor.job.status.rawValue, currentStep: monitor.job.currentStep,
                                            keys: monitor.charts.map(\.key), values: monitor.liveValues,
                                            charts: Dictionary(monitor.charts.map { ($0.key, $0.svg) }, uniquingKeysWith: { a, _ in a })))
    }

    private static func jobMonitor(_ app: TrainyardApp, _ ctx: WebContext) throws -> JobMonitor {
        guard let id = ctx.idParameter() else { throw HTTPError.notFound(noSuchJob) }
        guard let job = try JobStore(database: app.database).find(id) else { throw HTTPError.notFound(noSuchJob) }
        let metrics = MetricStore(database: app.database)
        let axis: JobMonitor.Axis = ctx.request.query["x"] == "time" ? .time : .step
        let summaries = JobMonitor.ordered(try metrics.summaries(id))
        let origin = job.startedAt ?? job.createdAt
        var series: [String: MetricChartCache.Points] = [:]
        for summary in summaries {
            series[summary.key] = switch axis {
            case .step: try app.chartCache.stepSeries(job: job, key: summary.key, latestStep: summary.latestStep, store: metrics)
            case .time: try app.chartCache.timeSeries(job: job, key: summary.key, origin: origin, latestAt: summary.latestAt, store: metrics)
            }
        }
        return JobMonitor(job: job, summaries: summaries, series: series, axis: axis,
                          stepsPerSecond: TrainingRunner.stepsPerSecond * app.configuration.simulationSpeed,
                          staleAfter: app.configuration.reportedRunStaleAfter, now: Date())
    }
}

/// The figures and charts of a job's monitor, formatted once for the page and the live endpoint.
struct JobMonitor {
    enum Axis: String { case step, time }

    struct Chart {
        var key: String
        /// An HTML id made of the key (ids cannot hold every character a key may).
        var id: String
        var svg: String
    }

    var job: TrainingJob
    var summaries: [MetricSummary]
    var charts: [Chart]
    var axis: Axis
    /// Text of each element marked `data-live="name"` on the page.
    var liveValues: [String: String]
    var isStale: Bool
    var now: Date

    /// Keys everybody looks for first, then the rest by name.
    static let usualKeys = ["loss", "accuracy", "val_loss", "val_accuracy"]

    static func ordered(_ summaries: [MetricSummary]) -> [MetricSummary] {
        summaries.sorted { a, b in
            let ia = usualKeys.firstIndex(of: a.key) ?? usualKeys.count, ib = usualKeys.firstIndex(of: b.key) ?? usualKeys.count
            return ia != ib ? ia < ib : a.key < b.key
        }
    }

    /// Accuracy-like keys are fractions, drawn 0–100 %.
    static func isFraction(_ key: String) -> Bool {
        let k = key.lowercased()
        return k == "accuracy" || k.hasSuffix("_accuracy") || k.hasSuffix("/accuracy") || k == "acc" || k.hasSuffix("_acc")
    }

    static func format(_ value: Double, key: String) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "−∞" : "∞" }
        if isFraction(key) && (0...1).contains(value) { return Format.printed(value * 100, "%.1f%%") }
        let a = abs(value)
        if a != 0 && (a < 0.001 || a >= 1e6) { return Format.printed(value, "%.4g") }
        return Format.printed(value, "%.4f")
    }

    static func htmlID(_ key: String, taken: inout Set<String>) -> String {
        var id = "chart-" + String(key.unicodeScalars.map { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" ? Character($0) : "_" })
        let base = id
        var n = 2
        while taken.contains(id) { id = "\(base)-\(n)"; n += 1 }
        taken.insert(id)
        return id
    }

    init(job: TrainingJob, summaries: [MetricSummary], series: [String: MetricChartCache.Points], axis: Axis,
         stepsPerSecond: Double, staleAfter: TimeInterval, now: Date) {
        self.job = job
        self.summaries = summaries
        self.axis = axis
        self.now = now
        isStale = job.isStale(now: now, after: staleAfter)
        var taken = Set<String>()
        var charts: [Chart] = []
        for summary in summaries {
            let key = summary.key
            let fraction = Self.isFraction(key)
            // A simulated job's x axis spans its plan, so the curve grows into a fixed frame.
            let xRange: ClosedRange<Double>? = axis == .step ? job.totalSteps.map { 0...Double(max($0, 1)) } : nil
            let chart = LineChart(title: key, xLabel: axis == .step ? "Step" : "Seconds since start",
                                  yLabel: fraction ? "\(key) (%)" : key,
                                  series: [.init(label: key, cssClass: "series-\(Self.usualKeys.firstIndex(of: key).map { $0 % 2 == 0 ? "loss" : "accuracy" } ?? "other")",
                                                 points: series[key] ?? [])],
                                  yRange: fraction && (summary.min ?? 0) >= 0 && (summary.max ?? 1) <= 1 ? 0...1 : nil, xRange: xRange,
                                  formatY: fraction ? { Format.printed($0 * 100, "%.0f") } : { Format.compact($0) })
            let id = Self.htmlID(key, taken: &taken)
            charts.append(Chart(key: key, id: id, svg: chart.svg(id: id)))
        }
        self.charts = charts

        var values: [String: String] = [
            "step": String(job.currentStep),
            "elapsed": job.startedAt.map { Format.duration((job.finishedAt ?? now).timeIntervalSince($0)) } ?? "not started",
            "eta": "—",
            "last-report": job.run?.lastReportAt.map { Format.duration(now.timeIntervalSince($0)) + " ago" } ?? "never",
        ]
        if let percent = job.percent { values["percent"] = "\(percent)%" }
        if let epoch = job.currentEpoch { values["epoch"] = String(epoch) }
        if job.status == .running, job.source == .simulated, let total = job.totalSteps {
            values["eta"] = "about " + Format.duration(Double(total - job.currentStep) / stepsPerSecond)
        }
        for (index, summary) in summaries.enumerated() {
            values["metric-\(index)-latest"] = Self.format(summary.latest, key: summary.key)
            values["metric-\(index)-step"] = String(summary.latestStep)
            values["metric-\(index)-min"] = summary.min.map { Self.format($0, key: summary.key) } ?? "—"
            values["metric-\(index)-max"] = summary.max.map { Self.format($0, key: summary.key) } ?? "—"
        }
        liveValues = values
    }
}

/// `GET /training/jobs/{id}/live` body.
struct JobMonitorLive: Encodable {
    var status: String
    var currentStep: Int
    /// The keys charted, in order: when it changes the script reloads the page for new frames.
    var keys: [String]
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
    var params: [RunDataStore.KeyValue]
    var tags: [RunDataStore.KeyValue]
    /// The catalogue, offered when a reported run has no base model yet.
    var models: [CatalogueModel]

    func members() -> [String: TemplateValue] {
        let job = monitor.job
        var live: [String: TemplateValue] = [:]
        for (name, text) in monitor.liveValues { live[name] = .string(text) }
        let values = monitor.liveValues
        let reported = job.source == .reported
        let base = Paths.job(job.id)
        func pairs(_ items: [RunDataStore.KeyValue]) -> TemplateValue {
            .list(items.map { ["key": .string($0.key), "value": .string($0.value)] })
        }
        return [
            "job": [
                "id": .int(job.id), "name": .string(job.name), "model": .optional(job.modelName),
                "modelHref": .optional(job.modelSlug.map(Paths.model)), "status": Badge.of(job.status),
                "isReported": .bool(reported), "runID": .optional(job.run?.runID),
                "experiment": .optional(job.experiment?.name),
                "experimentHref": .optional(job.experiment.map { Paths.with(Paths.jobs, [("experiment", $0.name)]) }),
                "hasPlan": .bool(job.plan != nil),
                "epochs": .optional(job.plan.map { String($0.epochs) }),
                "learningRate": .optional(job.plan.map { Format.learningRate($0.learningRate) }),
                "batchSize": .optional(job.plan.map { String($0.batchSize) }),
                "currentStep": .int(job.currentStep), "totalSteps": .optional(job.totalSteps.map(String.init)),
                "percent": .optional(job.percent.map(String.init)),
                "created": Format.timestamp(job.createdAt, now: monitor.now),
                "failureReason": .optional(job.failureReason),
                "isRunning": .bool(job.status == .running),
                "isStale": .bool(monitor.isStale),
                "lastReport": job.run?.lastReportAt.map { Format.timestamp($0, now: monitor.now) } ?? .null,
                "canDeploy": .bool(job.status == .complete && deployment == nil && job.model != nil),
                "needsModel": .bool(job.model == nil),
            ],
            "live": .object(live),
            "hasMetrics": .bool(!monitor.summaries.isEmpty),
            "charts": .list(monitor.charts.map { ["key": .string($0.key), "id": .string($0.id), "svg": .string($0.svg)] }),
            "metrics": .list(monitor.summaries.indices.map { index in
                ["key": .string(monitor.summaries[index].key), "index": .int(index),
                 "latest": .string(values["metric-\(index)-latest"] ?? ""), "step": .string(values["metric-\(index)-step"] ?? ""),
                 "min": .string(values["metric-\(index)-min"] ?? ""), "max": .string(values["metric-\(index)-max"] ?? "")]
            }),
            "axisIsTime": .bool(monitor.axis == .time),
            "stepHref": .string(base), "timeHref": .string(Paths.with(base, [("x", "time")])),
            "keysJSON": .string(monitor.charts.map(\.key).joined(separator: "\n")),
            "params": pairs(params), "hasParams": .bool(!params.isEmpty),
            "tags": pairs(tags.filter { !$0.key.hasPrefix("mlflow.") }), "hasTags": .bool(tags.contains { !$0.key.hasPrefix("mlflow.") }),
            "models": .list(models.map { SelectOption(value: $0.slug, label: $0.name, selected: false).templateValue }),
            "hasModels": .bool(!models.isEmpty),
            "baseModelAction": .string(base + "/base-model"),
            "addModelHref": .string("/models/new"),
            "deploymentHref": .optional(deployment.map(Paths.deployment)),
            "actions": actions.templateValue,
            "returnTo": .string(Paths.with(base, monitor.axis == .time ? [("x", "time")] : [])),
            "liveHref": .string(Paths.with(base + "/live", monitor.axis == .time ? [("x", "time")] : [])),
            "jobsHref": .string(Paths.jobs),
            "deployAction": .string(Paths.deployments),
            "deployFormHref": .string(DeploymentRoutes.newPath(jobID: job.id)),
            "refreshSeconds": .int(3),
            "notesHTML": .optional(notesHTML),
        ]
    }
}
