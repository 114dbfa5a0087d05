import Foundation
import HTTPServer
import Storage
import TemplateEngine

/// `GET /`: jobs by status, deployed models by status, the latest jobs and deployments.
enum DashboardRoutes {
    static func add(to app: TrainyardApp) {
        app.get("/") { [unowned app] ctx in try showDashboard(app, ctx) }
    }

    static func showDashboard(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let db = app.database
        let now = Date()
        var jobCounts: [String: Int] = [:]
        for row in try db.query("SELECT status, count FROM job_status_counts", []) {
            jobCounts[try row.string("status")] = try row.int("count")
        }
        var deploymentCounts: [String: Int] = [:]
        for row in try db.query("SELECT status, count FROM deployment_status_counts", []) {
            deploymentCounts[try row.string("status")] = try row.int("count")
        }
        let recentJobs = try db.query("""
            SELECT j.id, j.name, j.status, j.epochs, j.steps_per_epoch, j.current_step, j.created_at, m.name AS model_name
            FROM training_jobs j JOIN models m ON m.id = j.model_id
            ORDER BY j.created_at DESC, j.id DESC LIMIT 6
            """, [])
        let recentDeployments = try db.query("""
            SELECT id, model_name, name, version, status, created_at
            FROM deployments WHERE deleted_at IS NULL
            ORDER BY created_at DESC, id DESC LIMIT 6
            """, [])

        let jobTiles: [TemplateValue] = JobStatus.allCases.map { status in
            [
                "label": .string(status.label), "count": .int(jobCounts[status.rawValue] ?? 0),
                "href": .string(Paths.with(Paths.jobs, [("status", status.rawValue)])),
                "tone": .string(status.tone), "icon": .string(status.icon),
            ]
        }
        let liveTotal = DeploymentStatus.allCases.reduce(0) { $0 + (deploymentCounts[$1.rawValue] ?? 0) }
        var deploymentTiles: [TemplateValue] = [DeploymentStatus.active, .paused, .failed].map { status in
            [
                "label": .string(status.label), "count": .int(deploymentCounts[status.rawValue] ?? 0),
                "href": .string(Paths.with(Paths.deployments, [("status", status.rawValue)])),
                "tone": .string(status.tone), "icon": .string(status.icon),
            ]
        }
        deploymentTiles.append(["label": "Total", "count": .int(liveTotal), "href": .string(Paths.deployments),
                                "tone": "neutral", "icon": "layers"])

        let jobs: [TemplateValue] = try recentJobs.map { row in
            let status = JobStatus(rawValue: try row.string("status")) ?? .queued
            let total = max(try row.int("epochs") * row.int("steps_per_epoch"), 1)
            let percent = min(100, try row.int("current_step") * 100 / total)
            let created = try row.date("created_at")
            return [
                "name": .string(try row.string("name")), "href": .string(Paths.job(try row.int("id"))),
                "model": .string(try row.string("model_name")), "status": Badge.job(status),
                "progress": .int(percent),
                "created": Format.timestamp(created, now: now),
            ]
        }
        let deployments: [TemplateValue] = try recentDeployments.map { row in
            let status = DeploymentStatus(rawValue: try row.string("status")) ?? .failed
            return [
                "model": .string(try row.string("model_name")), "name": .string(try row.string("name")),
                "version": .string(try row.string("version")), "href": .string(Paths.deployment(try row.int("id"))),
                "status": Badge.deployment(status),
                "created": Format.timestamp(try row.date("created_at"), now: now),
            ]
        }
        return try app.web.page("dashboard/index", title: "Dashboard", section: .dashboard, [
            "jobTiles": .list(jobTiles),
            "deploymentTiles": .list(deploymentTiles),
            "recentJobs": .list(jobs),
            "hasRecentJobs": .bool(!jobs.isEmpty),
            "hasRecentDeployments": .bool(!deployments.isEmpty),
            "recentDeployments": .list(deployments),
            "configureHref": .string(Paths.configure),
            "jobsHref": .string(Paths.jobs),
            "deploymentsHref": .string(Paths.deployments),
        ], ctx)
    }
}
