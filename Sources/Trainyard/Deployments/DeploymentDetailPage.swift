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
        let resources = try store.resources(id)
        let sinceDate = Date(timeIntervalSince1970: since)
        var rolloutState: DeploymentStore.ReplicaState?
        if let rolling = d.rolloutRevision {
            rolloutState = try app.database.transaction { try DeploymentStore.replicaState($0, id, revision: rolling) }
        }
        let view = DeploymentDetailView(
            deployment: d, now: now, range: range,
            rangeNote: (requested != nil && requested != range.key)
                ? "There is no range “\(String(requested!.prefix(20)))”; showing the last hour." : nil,
            points: try store.chartSeries(id, since: sinceDate, width: range.step),
            events: try store.events(id, since: sinceDate),
            replicas: try store.replicas(id), resources: resources, history: try store.history(id),
            revisions: try store.revisions(id), rolloutState: rolloutState,
            guardrails: try GuardrailStore(database: app.database).list(id),
            otherVersions: try store.versions(modelID: d.model.id).filter { $0.id != id }.map(\.version),
            scale: FormField("replicas", prefix: "scale", value: FormField.numberValue(ctx.typedValue("replicas") ?? String(d.targetReplicas)), ctx,
                             extra: DeploymentRules.replicas.attributes.merging(["action": .string(Paths.deployment(id) + "/scale")]) { a, _ in a }),
            configure: configureFields(d, resources, ctx), guardrailForm: guardrailFields(ctx),
            source: SourcePanel.members(d, try InferenceSourceStore(database: app.database).find(id), now: now, ctx: ctx))
        return try app.web.render(view, ctx)
    }
}

extension DeploymentRoutes {
    /// The configuration form, prefilled with the serving configuration (or what was typed).
    static func configureFields(_ d: Deployment, _ r: DeploymentResources?, _ ctx: WebContext) -> [String: TemplateValue] {
        let current: [String: String] = [
            "replicas": String(d.targetReplicas), "cpu": r.map { Format.compact($0.cpu) } ?? "", "memory_mb": r.map { String($0.memoryMB) } ?? "",
            "gpu": r.map { String($0.gpu) } ?? "", "storage_gb": r.map { String($0.storageGB) } ?? "",
        ]
        let rules: [String: [String: TemplateValue]] = [
            "replicas": DeploymentRules.replicas.attributes, "cpu": DeploymentRules.cpu.attributes,
            "memory_mb": DeploymentRules.memoryMB.attributes, "gpu": DeploymentRules.gpu.attributes,
            "storage_gb": DeploymentRules.storageGB.attributes,
        ]
        let typed = ctx.formValues(configureFields, defaults: current)
        var out: [String: TemplateValue] = ["action": .string(Paths.deployment(d.id) + "/configure")]
        for name in configureFields {
            out[name] = FormField(name, prefix: "configure", value: FormField.numberValue(typed[name] ?? ""), ctx,
                                  extra: rules[name] ?? [:]).templateValue
        }
        return out
    }

    static func guardrailFields(_ ctx: WebContext) -> [String: TemplateValue] {
        let typed = ctx.formValues(guardrailFields, defaults: ["metric": "p95", "threshold": "", "minutes": "5", "action": "flag"])
        var out: [String: TemplateValue] = [:]
        out["metrics"] = .list(Guardrail.Metric.allCases.map {
            ["value": .string($0.rawValue), "label": .string("\($0.label) (\($0.unit))"), "selected": .bool(typed["metric"] == $0.rawValue)]
        })
        out["actions"] = .list(Guardrail.Action.allCases.map {
            ["value": .string($0.rawValue), "label": .string($0.label), "selected": .bool(typed["action"] == $0.rawValue)]
        })
        out["threshold"] = FormField("threshold", prefix: "guardrail", value: typed["threshold"] ?? "", ctx).templateValue
        out["minutes"] = FormField("minutes", prefix: "guardrail", value: FormField.numberValue(typed["minutes"] ?? ""), ctx,
                                   extra: GuardrailRules.minutes.attributes).templateValue
        out["metricError"] = .optional(ctx.fieldError("metric"))
        out["actionError"] = .optional(ctx.fieldError("action"))
        return out
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
    var events: [DeploymentHistoryEntry]
    var replicas: [DeploymentReplica]
    var resources: DeploymentResources?
    var history: [DeploymentHistoryEntry]
    var revisions: [DeploymentRevision]
    var rolloutState: DeploymentStore.ReplicaState?
    var guardrails: [Guardrail]
    var otherVersions: [String]
    var scale: FormField
    var configure: [String: TemplateValue]
    var guardrailForm: [String: TemplateValue]
    var source: [String: TemplateValue]

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
                ["ordinal": .int(r.ordinal), "revision": .int(r.revision), "status": Badge.of(r.status),
                 "since": Format.timestamp(r.updatedAt, now: now), "restarts": .int(r.restarts),
                 "lastFailure": .optional(r.lastFailure), "retryAt": r.retryAt.map { Format.timestamp($0, now: now) } ?? .null]
            }),
            "hasReplicas": .bool(!replicas.isEmpty),
            "history": .list(history.map { h in
                let old = h.oldStatus.flatMap(DeploymentStatus.init(rawValue:))
                let new = DeploymentStatus(rawValue: h.newStatus) ?? .failed
                return [
                    "id": .int(h.id), "event": .string(h.event.label),
                    "old": old.map(Badge.of) ?? .null, "new": Badge.of(new), "changed": .bool(old != new),
                    "by": .string(h.changedBy), "reason": .string(h.reason), "at": Format.timestamp(h.at, now: now),
                ]
            }),
            "revisions": .list(revisions.enumerated().map { i, r in
                let previous = i + 1 < revisions.count ? revisions[i + 1] : nil
                let state: String = r.number == d.revision ? "serving"
                    : r.number == d.rolloutRevision ? "rolling out"
                    : r.failedReason != nil ? "did not roll out" : r.number > d.revision ? "not started" : "superseded"
                return [
                    "number": .int(r.number), "state": .string(state), "serving": .bool(r.number == d.revision),
                    "changes": .string((r.sourceRevision.map { "rollback to revision \($0): " } ?? "")
                                       + (previous.map { r.changes(from: $0).joined(separator: ", ") } ?? "first configuration")),
                    "config": .string("\(DeploymentStore.replicas(r.replicas)) × \(Format.compact(r.resources.cpu)) CPU, "
                                      + "\(Format.memory(megabytes: r.resources.memoryMB)), \(r.resources.gpu) GPU, \(r.resources.storageGB) GB"),
                    "by": .string(r.createdBy), "at": Format.timestamp(r.createdAt, now: now), "failedReason": .optional(r.failedReason),
                    "canRollBack": .bool(live && r.number != d.revision && d.rolloutRevision == nil && r.failedReason == nil),
                    "rollbackAction": .string(base + "/rollback"),
                ]
            }),
            "events": .list(events.map { e in
                ["mark": .string(e.event.mark), "label": .string(e.event.label), "reason": .string(e.reason),
                 "href": .string("#history-\(e.id)"), "at": Format.timestamp(e.at, now: now)]
            }),
            "hasEvents": .bool(!events.isEmpty),
            "guardrails": .list(guardrails.map { g in
                ["summary": .string(g.summary), "action": .string(g.action == .pause ? "pauses the deployment" : "flags it"),
                 "breached": g.breachedSince.map { Format.timestamp($0, now: now) } ?? .null, "by": .string(g.createdBy),
                 "deleteAction": .string(base + "/guardrails/\(g.id)/delete")]
            }),
            "hasGuardrails": .bool(!guardrails.isEmpty),
            "guardrailAction": .string(base + "/guardrails"),
            "guardrailForm": .object(guardrailForm),
            "failureReason": .optional(d.status == .failed ? d.failureReason : nil),
            "attention": d.attentionSince.map { ["since": Format.timestamp($0, now: now), "reason": .string(d.attentionReason ?? "a guardrail")] } ?? .null,
            "deploymentsHref": .string(Paths.deployments),
            "refreshSeconds": .int(3),
            "source": .object(source),
        ]
        if let resources {
            data["resources"] = [
                "cpu": .string(Format.compact(resources.cpu)), "memory": .string(Format.memory(megabytes: resources.memoryMB)),
                "gpu": .int(resources.gpu), "storage": .int(resources.storageGB),
            ]
        }
        if let rolling = d.rolloutRevision, let state = rolloutState {
            data["rollout"] = [
                "revision": .int(rolling), "serving": .int(d.revision), "running": .int(state.running), "wanted": .int(state.wanted),
                "lastFailure": .optional(state.lastFailure),
            ]
        }
        if live && d.status == .active {
            data["cards"] = .list(Self.statCards(d.stats, baseline: d.rpsBaseline))
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
            if d.status == .failed { actions.append(.post("Retry revision \(d.revision)", to: base + "/retry", style: .primary)) }
            data["actions"] = actions.templateValue
            data["configure"] = .object(configure)
            data["canRollBackVersion"] = .bool((d.status == .active || d.status == .deploying) && !otherVersions.isEmpty)
            data["otherVersions"] = .list(otherVersions.map { ["value": .string($0)] })
            data["rollbackAction"] = .string(base + "/rollback")
            data["canScale"] = .bool(d.rolloutRevision == nil)
            data["scale"] = scale.templateValue
            data["deleteAction"] = .string(base + "/delete")
        }
        return data
    }

    private var charts: (requests: LineChart, latency: LineChart) {
        func x(_ date: Date) -> Double { date.timeIntervalSince(now) / range.unit }
        let xRange = -Double(range.seconds) / range.unit...0
        let formatAgo: (Double) -> String = { Format.compact(abs($0)) }
        let markers = events.map { e in
            LineChart.Marker(x: x(e.at), mark: e.event.mark, title: "\(e.event.label), \(Format.exact(e.at)): \(e.reason)",
                             cssClass: "marker-\(e.event.rawValue.replacingOccurrences(of: "_", with: "-"))")
        }
        let requests = LineChart(
            title: "Requests per second, \(range.label.lowercased())", xLabel: range.axis, yLabel: "Requests/s",
            series: [.init(label: "Requests/s", cssClass: "series-requests", points: points.map { (x($0.time), $0.requestsPerSecond) })],
            xRange: xRange, formatX: formatAgo, markers: markers)
        let latency = LineChart(
            title: "Latency, \(range.label.lowercased())", xLabel: range.axis, yLabel: "Milliseconds",
            series: [
                .init(label: "P50", cssClass: "series-p50", points: points.map { (x($0.time), $0.p50) }),
                .init(label: "P95", cssClass: "series-p95", points: points.map { (x($0.time), $0.p95) }),
                .init(label: "P99", cssClass: "series-p99", points: points.map { (x($0.time), $0.p99) }),
            ],
            xRange: xRange, formatX: formatAgo, markers: markers)
        return (requests, latency)
    }

    /// Request volume, P50, P95, P99, error and success rate, each with a tone and a word for
    /// it from the threshold table.
    static func statCards(_ s: DeploymentStats, baseline: Double) -> [TemplateValue] {
        func card(_ label: String, _ value: String, _ check: HealthCheck) -> TemplateValue {
            ["label": .string(label), "value": .string(value), "tone": .string(check.severity.tone), "note": .string(check.note)]
        }
        let traffic = s.trafficHealth(baseline: baseline)
        return [
            card("Request volume", Format.requestsPerSecond(s.rps) + " req/s", traffic.severity == .healthy && baseline == 0
                 ? HealthCheck(severity: .healthy, note: "about \(Format.compact((s.rps * 60).rounded())) requests a minute") : traffic),
            card("P50 latency", Format.milliseconds(s.p50), s.p50Health),
            card("P95 latency", Format.milliseconds(s.p95), s.p95Health),
            card("P99 latency", Format.milliseconds(s.p99), s.p99Health),
            card("Error rate", Format.percent(s.errorRate), s.errorHealth),
            card("Success rate", Format.percent(1 - s.errorRate), HealthCheck(severity: s.errorHealth.severity, note: "requests answered without error")),
        ]
    }
}
