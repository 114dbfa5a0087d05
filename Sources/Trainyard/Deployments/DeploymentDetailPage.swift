import Foundation
import HTTPServer
import TemplateEngine

/// `GET /deployments/{id}`: stat cards, time series, replicas, resources, history, actions.
extension DeploymentRoutes {
    /// Chart ranges: how far back, and the width of one point, so each chart has ≤ 96 points.
    struct ChartRange {
        var key: String
        var label: String
        var seconds: Int
        var step: Int
        var axis: String
        var unit: Double
    }

    static let chartRanges = [
        ChartRange(key: "1h", label: "Last hour", seconds: 3600, step: 60, axis: "Minutes ago", unit: 60),
        ChartRange(key: "24h", label: "Last 24 hours", seconds: 86_400, step: 900, axis: "Hours ago", unit: 3600),
        ChartRange(key: "7d", label: "Last 7 days", seconds: 604_800, step: 7200, axis: "Days ago", unit: 86_400),
    ]

    static func showDeployment(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter() else { throw HTTPError.notFound(notFoundMessage) }
        let store = DeploymentStore(database: app.database)
        guard let d = try store.find(id) else { throw HTTPError.notFound(notFoundMessage) }
        let now = Date()
        let requested = ctx.request.query["range"]
        let range = chartRanges.first { $0.key == requested } ?? chartRanges[0]
        // Start on a step boundary so partial steps at both ends never make one point too many.
        let since = ((now.timeIntervalSince1970 - Double(range.seconds)) / Double(range.step)).rounded(.up) * Double(range.step)
        let view = DeploymentDetailView(
            deployment: d, now: now, range: range,
            rangeNote: (requested != nil && requested != range.key)
                ? "There is no range “\(String(requested!.prefix(20)))”; showing the last hour." : nil,
            points: try store.chartSeries(id, since: Date(timeIntervalSince1970: since), width: range.step),
            replicas: try store.replicas(id), resources: try store.resources(id), history: try store.history(id),
            scale: FormField("replicas", prefix: "scale", value: ctx.typedValue("replicas") ?? String(d.targetReplicas), ctx,
                             extra: DeploymentRules.replicas.attributes.merging(["action": .string(Paths.deployment(id) + "/scale")]) { a, _ in a }))
        return try app.web.render(view, ctx)
    }
}

struct DeploymentDetailView: PageView {
    static let template = "deployments/show"
    var title: String { "\(deployment.modelName) \(deployment.version)" }
    let section: NavSection? = .deployments

    var deployment: Deployment
    var now: Date
    var range: DeploymentRoutes.ChartRange
    var rangeNote: String?
    var points: [DeploymentStore.ChartPoint]
    var replicas: [DeploymentReplica]
    var resources: DeploymentResources?
    var history: [DeploymentHistoryEntry]
    var scale: FormField

    func members() -> [String: TemplateValue] {
        let d = deployment
        let live = !d.isDeleted
        let base = Paths.deployment(d.id)
        var data: [String: TemplateValue] = [
            "deployment": [
                "id": .int(d.id), "name": .string(d.name), "model": .string(d.modelName), "modelHref": .string(Paths.model(d.modelSlug)),
                "version": .string(d.version), "status": Badge.of(d.status), "endpoint": .string(d.endpoint),
                "jobName": .string(d.jobName), "jobHref": .string(Paths.job(d.jobID)), "deployedBy": .string(d.deployedBy),
                "created": Format.timestamp(d.createdAt, now: now),
                "target": .int(d.targetReplicas), "running": .int(replicas.filter { $0.status == .running }.count),
            ],
            "deleted": d.deletedAt.map { Format.timestamp($0, now: now) } ?? .null,
            "isLive": .bool(live),
            "isDeploying": .bool(live && d.status == .deploying),
            "requestsChart": .string(charts.requests.svg(id: "requests-chart")),
            "latencyChart": .string(charts.latency.svg(id: "latency-chart")),
            "ranges": .list(DeploymentRoutes.chartRanges.map { r in
                ["label": .string(r.label), "href": .string(Paths.with(base, [("range", r.key)])), "current": .bool(r.key == range.key)]
            }),
            "rangeLabel": .string(range.label),
            "rangeNote": .optional(rangeNote),
            "replicas": .list(replicas.map { r in
                ["ordinal": .int(r.ordinal), "status": Badge.of(r.status), "since": Format.timestamp(r.updatedAt, now: now)]
            }),
            "hasReplicas": .bool(!replicas.isEmpty),
            "history": .list(history.map { h in
                let old = h.oldStatus.flatMap(DeploymentStatus.init(rawValue:))
                let new = DeploymentStatus(rawValue: h.newStatus) ?? .failed
                return [
                    "old": old.map(Badge.of) ?? .null, "new": Badge.of(new), "changed": .bool(old != new),
                    "by": .string(h.changedBy), "reason": .string(h.reason), "at": Format.timestamp(h.at, now: now),
                ]
            }),
            "deploymentsHref": .string(Paths.deployments),
            "refreshSeconds": .int(3),
        ]
        if let resources {
            data["resources"] = [
                "cpu": .string(Format.compact(resources.cpu)), "memory": .string(Format.memory(megabytes: resources.memoryMB)),
                "gpu": .int(resources.gpu), "storage": .int(resources.storageGB),
            ]
        }
        if live && d.status == .active {
            data["cards"] = .list(Self.statCards(d.stats))
            data["hasCards"] = true
        } else {
            data["unavailable"] = .string(d.isDeleted
                ? "Metrics unavailable: this deployment has been deleted."
                : "Metrics unavailable: this deployment is \(d.status.rawValue); figures appear while it is active.")
        }
        if live {
            var actions: [ActionButton] = []
            if d.status == .active || d.status == .deploying { actions.append(.post("Pause", to: base + "/pause")) }
            if d.status == .paused { actions.append(.post("Resume", to: base + "/resume", style: .primary)) }
            data["actions"] = actions.templateValue
            data["canScale"] = .bool(d.status != .failed)
            data["scale"] = scale.templateValue
            data["deleteAction"] = .string(base + "/delete")
        }
        return data
    }

    private var charts: (requests: LineChart, latency: LineChart) {
        func x(_ date: Date) -> Double { date.timeIntervalSince(now) / range.unit }
        let xRange = -Double(range.seconds) / range.unit...0
        let formatAgo: (Double) -> String = { Format.compact(abs($0)) }
        let requests = LineChart(
            title: "Requests per second, \(range.label.lowercased())", xLabel: range.axis, yLabel: "Requests/s",
            series: [.init(label: "Requests/s", cssClass: "series-requests", points: points.map { (x($0.time), $0.requestsPerSecond) })],
            xRange: xRange, formatX: formatAgo)
        let latency = LineChart(
            title: "Latency, \(range.label.lowercased())", xLabel: range.axis, yLabel: "Milliseconds",
            series: [
                .init(label: "P50", cssClass: "series-p50", points: points.map { (x($0.time), $0.p50) }),
                .init(label: "P95", cssClass: "series-p95", points: points.map { (x($0.time), $0.p95) }),
                .init(label: "P99", cssClass: "series-p99", points: points.map { (x($0.time), $0.p99) }),
            ],
            xRange: xRange, formatX: formatAgo)
        return (requests, latency)
    }

    /// Request volume, P50, P95, P99, error and success rate, each with a tone and a word for it.
    static func statCards(_ s: DeploymentStats) -> [TemplateValue] {
        func card(_ label: String, _ value: String, tone: String, note: String) -> TemplateValue {
            ["label": .string(label), "value": .string(value), "tone": .string(tone), "note": .string(note)]
        }
        return [
            card("Request volume", Format.requestsPerSecond(s.rps) + " req/s", tone: "neutral",
                 note: "about \(Format.compact((s.rps * 60).rounded())) requests a minute"),
            card("P50 latency", Format.milliseconds(s.p50), tone: s.p50IsHigh ? "warning" : "success",
                 note: s.p50IsHigh ? "Warning: above 200 ms" : "Healthy: under 200 ms"),
            card("P95 latency", Format.milliseconds(s.p95), tone: s.p95IsHigh ? "danger" : "success",
                 note: s.p95IsHigh ? "Critical: above 500 ms" : "Healthy: under 500 ms"),
            card("P99 latency", Format.milliseconds(s.p99), tone: "neutral", note: "slowest 1 % of requests"),
            card("Error rate", Format.percent(s.errorRate), tone: s.errorsAreHigh ? "danger" : "success",
                 note: s.errorsAreHigh ? "Critical: above 1 %" : "Healthy: under 1 %"),
            card("Success rate", Format.percent(1 - s.errorRate), tone: s.errorsAreHigh ? "danger" : "success",
                 note: "requests answered without error"),
        ]
    }
}
