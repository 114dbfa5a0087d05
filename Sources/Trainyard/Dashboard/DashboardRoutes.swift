import Foundation
import HTTPServer
import TemplateEngine

/// `GET /`: jobs by status, deployed models by status, the latest jobs and deployments.
enum DashboardRoutes {
    static func add(to app: TrainyardApp) {
        app.get("/", version: .anyTable) { [unowned app] ctx in try showDashboard(app, ctx) }
    }

    static func showDashboard(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let jobs = JobStore(database: app.database)
        let deployments = DeploymentStore(database: app.database)
        return try app.web.render(DashboardView(
            jobCounts: try app.jobCounts.counts(at: ctx.counters?.stamp(for: .jobStatusCounts), read: jobs.statusCounts),
            deploymentCounts: try app.deploymentCounts.counts(at: ctx.counters?.stamp(for: .deploymentStatusCounts), read: deployments.statusCounts),
            recentJobs: try jobs.recent(limit: 6), recentDeployments: try deployments.recent(limit: 6),
            needingAttention: try deployments.needingAttention(limit: 6), now: Date()), ctx)
    }
}

/// A count that links to the list filtered by it.
struct StatusTile: TemplateConvertible {
    var label: String
    var count: Int
    var href: String
    var tone: String
    var icon: String

    init<S: BadgeStatus>(_ status: S, count: Int, list: String) {
        self.init(label: status.label, count: count, href: Paths.with(list, [("status", status.rawValue)]), tone: status.tone, icon: status.icon)
    }

    init(label: String, count: Int, href: String, tone: String, icon: String) {
        self.label = label
        self.count = count
        self.href = href
        self.tone = tone
        self.icon = icon
    }

    static let keys = TemplateKeys(["label", "count", "href", "tone", "icon"])

    var templateValue: TemplateValue {
        .record(Self.keys, [.string(label), .int(count), .string(href), .string(tone), .string(icon)])
    }
}

struct DashboardView: PageView {
    static let template = "dashboard/index"
    let title = "Dashboard"
    let section: NavSection? = .dashboard

    var jobCounts: [JobStatus: Int]
    var deploymentCounts: [DeploymentStatus: Int]
    var recentJobs: [TrainingJob]
    var recentDeployments: [Deployment]
    var needingAttention: [Deployment]
    var now: Date

    static let jobKeys = TemplateKeys(["name", "href", "model", "status", "progress", "created"])
    static let deploymentKeys = TemplateKeys(["model", "name", "version", "href", "status", "created"])
    static let attentionKeys = TemplateKeys(["model", "version", "href", "reason", "status", "since"])

    func members() -> [String: TemplateValue] {
        let jobTiles = JobStatus.allCases.map { StatusTile($0, count: jobCounts[$0] ?? 0, list: Paths.jobs) }
        var deploymentTiles = [DeploymentStatus.active, .paused, .failed].map {
            StatusTile($0, count: deploymentCounts[$0] ?? 0, list: Paths.deployments)
        }
        deploymentTiles.append(StatusTile(label: "Total", count: deploymentCounts.values.reduce(0, +), href: Paths.deployments,
                                          tone: "neutral", icon: "layers"))
        return [
            "jobTiles": jobTiles.templateValue,
            "deploymentTiles": deploymentTiles.templateValue,
            // Rows as records: one shape each, no key hashed per row.
            "recentJobs": .list(recentJobs.map { job in
                .record(Self.jobKeys, [.string(job.name), .string(Paths.job(job.id)), .string(job.modelName ?? "—"), Badge.of(job.status),
                                       .string(job.percent.map { "\($0)%" } ?? "step \(job.currentStep)"), Format.timestamp(job.createdAt, now: now)])
            }),
            "hasRecentJobs": .bool(!recentJobs.isEmpty),
            "recentDeployments": .list(recentDeployments.map { d in
                .record(Self.deploymentKeys, [.string(d.modelName), .string(d.name), .string(d.version), .string(Paths.deployment(d.id)),
                                              Badge.of(d.status), Format.timestamp(d.createdAt, now: now)])
            }),
            "hasRecentDeployments": .bool(!recentDeployments.isEmpty),
            "attention": .list(needingAttention.map { d in
                .record(Self.attentionKeys, [.string(d.modelName), .string(d.version), .string(Paths.deployment(d.id)),
                                             .string(d.attentionReason ?? "a guardrail"), Badge.of(d.status),
                                             d.attentionSince.map { Format.timestamp($0, now: now) } ?? .null])
            }),
            "hasAttention": .bool(!needingAttention.isEmpty),
            "attentionHref": .string(Paths.with(Paths.deployments, [("attention", "1")])),
            "configureHref": .string(Paths.configure),
            "jobsHref": .string(Paths.jobs),
            "deploymentsHref": .string(Paths.deployments),
        ]
    }
}
