import Foundation
import HTTPServer
import TemplateEngine

/// The model catalogue and each model's card with its jobs and deployments.
enum ModelRoutes {
    static func add(to app: TrainyardApp) {
        app.get("/models") { [unowned app] ctx in try listModels(app, ctx) }
        app.get("/models/{slug}") { [unowned app] ctx in try showModel(app, ctx) }
    }

    static func listModels(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let summaries = try ModelStore(database: app.database).summaries()
        let models: [TemplateValue] = summaries.map { s in
            [
                "name": .string(s.model.name), "href": .string(Paths.model(s.model.slug)),
                "sizeClass": .string(s.model.sizeClass.label), "sizeTone": .string(s.model.sizeClass.rawValue),
                "parameters": .string(s.model.parameterLabel),
                "context": .string(s.model.contextLength >= 1024 ? "\(s.model.contextLength / 1024)k" : String(s.model.contextLength)),
                "jobs": .int(s.jobs), "liveDeployments": .int(s.liveDeployments),
                "trainHref": .string(Paths.with(Paths.configure, [("model", s.model.slug)])),
                "trainLabel": .string("Train \(s.model.name)"),
            ]
        }
        return try app.web.page("models/index", title: "Models", section: .models,
                                ["models": .list(models), "hasModels": .bool(!models.isEmpty)], ctx)
    }

    static func showModel(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let slug = ctx.parameter("slug"), let model = try ModelStore(database: app.database).find(slug: slug) else {
            throw HTTPError.notFound("There is no model with this name in the catalogue.")
        }
        let now = Date()
        let jobs = try app.database.query("""
            SELECT \(JobStore.columns) FROM training_jobs j JOIN models m ON m.id = j.model_id
            WHERE j.model_id = $1 ORDER BY j.created_at DESC, j.id DESC LIMIT 20
            """, [.int(Int64(model.id))]).map(JobStore.decode)
        let deployments = try app.database.query("""
            SELECT id, name, version, status, created_at FROM deployments
            WHERE model_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 20
            """, [.int(Int64(model.id))])
        let jobValues: [TemplateValue] = jobs.map { job in
            ["name": .string(job.name), "href": .string(Paths.job(job.id)), "status": Badge.job(job.status),
             "progress": .int(Int((job.progress * 100).rounded(.down))), "created": Format.timestamp(job.createdAt, now: now)]
        }
        let deploymentValues: [TemplateValue] = try deployments.map { row in
            ["name": .string(try row.string("name")), "version": .string(try row.string("version")),
             "href": .string(Paths.deployment(try row.int("id"))),
             "status": Badge.deployment(DeploymentStatus(rawValue: try row.string("status")) ?? .failed),
             "created": Format.timestamp(try row.date("created_at"), now: now)]
        }
        let card = MarkdownRenderer().render(model.card)
        return try app.web.page("models/show", title: model.name, section: .models, [
            "model": [
                "name": .string(model.name), "parameters": .string(model.parameterLabel), "sizeClass": .string(model.sizeClass.label),
                "context": .string("\(model.contextLength) tokens"), "slug": .string(model.slug),
            ],
            "cardHTML": .string(card.html),
            "trainHref": .string(Paths.with(Paths.configure, [("model", model.slug)])),
            "jobs": .list(jobValues), "hasJobs": .bool(!jobValues.isEmpty),
            "deployments": .list(deploymentValues), "hasDeployments": .bool(!deploymentValues.isEmpty),
            "jobsHref": .string(Paths.with(Paths.jobs, [("model", model.slug)])),
        ], ctx)
    }
}
