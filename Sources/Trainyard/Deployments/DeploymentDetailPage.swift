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
        let rangeNote: String? = (requested != nil && requested != range.key)
            ? "There is no range “\(String(requested!.prefix(20)))”; showing the last hour." : nil
        // Start on a step boundary so partial steps at both ends never make one point too many.
        let since = ((now.timeIntervalSince1970 - Double(range.seconds)) / Double(range.step)).rounded(.up) * Double(range.step)
        let points = try store.chartSeries(id, since: Date(timeIntervalSince1970: since), width: range.step)
        func x(_ date: Date) -> Double { date.timeIntervalSince(now) / range.unit }
        let xRange = -Double(range.seconds) / range.unit...0
        let formatAgo: (Double) -> String = { LineChart.compact(abs($0)) }
        let requestsChart = LineChart(
            title: "Requests per second, \(range.label.lowercased())", xLabel: range.axis, yLabel: "Requests/s",
            series: [.init(label: "Requests/s", cssClass: "series-requests", points: points.map { (x($0.time), $0.requestsPerSecond) })],
            xRange: xRange, formatX: formatAgo)
        let latencyChart = LineChart(
            title: "Latency, \(range.label.lowercased())", xLabel: range.axis, yLabel: "Milliseconds",
            series: [
                .init(label: "P50", cssClass: "series-p50", points: points.map { (x($0.time), $0.p50) }),
                .init(label: "P95", cssClass: "series-p95", points: points.map { (x($0.time), $0.p95) }),
                .init(label: "P99", cssClass: "series-p99", points: points.map { (x($0.time), $0.p99) }),
            ],
            xRange: xRange, formatX: formatAgo)

        let replicas = try store.replicas(id)
        let running = replicas.filter { $0.status == .running }.count
        let resources = try store.resources(id)
        let history = try store.history(id)
        let live = !d.isDeleted

        var data: [String: TemplateValue] = [
            "deployment": [
                "id": .int(d.id), "name": .string(d.name), "model": .string(d.modelName), "modelHref": .string(Paths.model(d.modelSlug)),
                "version": .string(d.version), "status": Badge.deployment(d.status), "endpoint": .string(d.endpoint),
                "jobName": .string(d.jobName), "jobHref": .string(Paths.job(d.jobID)), "deployedBy": .string(d.deployedBy),
                "created": Format.timestamp(d.createdAt, now: now),
                "target": .int(d.targetReplicas), "running": .int(running),
            ],
            "deleted": d.deletedAt.map { Format.timestamp($0, now: now) } ?? .null,
            "isDeploying": .bool(live && d.status == .deploying),
            "requestsChart": .string(requestsChart.svg(id: "requests-chart")),
            "latencyChart": .string(latencyChart.svg(id: "latency-chart")),
            "ranges": .list(chartRanges.map { r in
                ["label": .string(r.label), "href": .string(Paths.with(Paths.deployment(id), [("range", r.key)])),
                 "current": .bool(r.key == range.key)]
            }),
            "rangeLabel": .string(range.label),
            "rangeNote": rangeNote.map { .string($0) } ?? .null,
            "replicas": .list(replicas.map { r in
                ["ordinal": .int(r.ordinal), "status": replicaBadge(r.status), "since": Format.timestamp(r.updatedAt, now: now)]
            }),
            "hasReplicas": .bool(!replicas.isEmpty),
            "history": .list(history.map { h in
                let old = h.oldStatus.flatMap(DeploymentStatus.init(rawValue:))
                let new = DeploymentStatus(rawValue: h.newStatus) ?? .failed
                return [
                    "old": old.map(Badge.deployment) ?? .null, "new": Badge.deployment(new), "changed": .bool(old != new),
                    "by": .string(h.changedBy), "reason": .string(h.reason), "at": Format.timestamp(h.at, now: now),
                ]
            }),
            "deploymentsHref": .string(Paths.deployments),
            "refreshSeconds": .int(3),
        ]
        if let resources {
            data["resources"] = [
                "cpu": .string(LineChart.compact(resources.cpu)), "memory": .string(formatMemory(resources.memoryMB)),
                "gpu": .int(resources.gpu), "storage": .int(resources.storageGB),
            ]
        }
        if live && d.status == .active {
            data["cards"] = .list(statCards(d))
            data["hasCards"] = true
        } else {
            data["unavailable"] = .string(d.isDeleted
                ? "Metrics unavailable: this deployment has been deleted."
                : "Metrics unavailable: this deployment is \(d.status.rawValue); figures appear while it is active.")
        }
        if live {
            var actions: [TemplateValue] = []
            let base = Paths.deployment(id)
            if d.status == .active || d.status == .deploying {
                actions.append(["label": "Pause", "action": .string(base + "/pause")])
            }
            if d.status == .paused {
                actions.append(["label": "Resume", "action": .string(base + "/resume"), "primary": true])
            }
            data["actions"] = .list(actions)
            data["canScale"] = .bool(d.status != .failed)
            var scale: [String: TemplateValue] = ["action": .string(base + "/scale"), "value": .string(ctx.typedValue("replicas") ?? String(d.targetReplicas))]
            if let error = ctx.fieldError("replicas") { scale["error"] = .string(error); scale["errorID"] = "scale-replicas-error" }
            data["scale"] = .object(scale)
            data["deleteAction"] = .string(base + "/delete")
        }
        return try app.web.page("deployments/show", title: "\(d.modelName) \(d.version)", section: .deployments, data, ctx)
    }

    /// Request volume, P50, P95, P99, error and success rate, each with a tone and a word for it.
    static func statCards(_ d: Deployment) -> [TemplateValue] {
        func card(_ label: String, _ value: String, tone: String, note: String) -> TemplateValue {
            ["label": .string(label), "value": .string(value), "tone": .string(tone), "note": .string(note)]
        }
        return [
            card("Request volume", formatRate(d.rps) + " req/s", tone: "neutral",
                 note: String(format: "about %@ requests a minute", LineChart.compact((d.rps * 60).rounded()))),
            card("P50 latency", formatMs(d.p50), tone: d.p50 > p50Warning ? "warning" : "success",
                 note: d.p50 > p50Warning ? "Warning: above 200 ms" : "Healthy: under 200 ms"),
            card("P95 latency", formatMs(d.p95), tone: d.p95 > p95Critical ? "danger" : "success",
                 note: d.p95 > p95Critical ? "Critical: above 500 ms" : "Healthy: under 500 ms"),
            card("P99 latency", formatMs(d.p99), tone: "neutral", note: "slowest 1 % of requests"),
            card("Error rate", formatPercent(d.errorRate), tone: d.errorRate > errorCritical ? "danger" : "success",
                 note: d.errorRate > errorCritical ? "Critical: above 1 %" : "Healthy: under 1 %"),
            card("Success rate", formatPercent(1 - d.errorRate), tone: d.errorRate > errorCritical ? "danger" : "success",
                 note: "requests answered without error"),
        ]
    }

    static func replicaBadge(_ status: ReplicaStatus) -> TemplateValue {
        ["label": .string(status.label), "tone": .string(status.tone), "icon": .string(status.icon), "value": .string(status.rawValue)]
    }

    static func formatMemory(_ mb: Int) -> String {
        mb % 1024 == 0 ? "\(mb / 1024) GB" : "\(mb) MB"
    }
}
