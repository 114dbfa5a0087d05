import Foundation
import Storage
import HTTPServer
import TemplateEngine

/// The model catalogue and each model's card with its jobs and deployments; operators and
/// admins add, edit and delete models through forms and the JSON API.
enum ModelRoutes {
    static func add(to app: TrainyardApp) {
        app.get("/models", version: .anyTable) { [unowned app] ctx in try listModels(app, ctx) }
        // Before `/models/{slug}`, which would take "new" for a slug (`ModelRules.reservedSlugs`).
        app.get(Paths.newModel, access: .signedIn(.operator)) { [unowned app] ctx in try showNewModelForm(app, ctx) }
        app.post("/models", access: .signedIn(.operator)) { [unowned app] ctx in try createModel(app, ctx) }
        app.get("/models/{slug}", version: .anyTable) { [unowned app] ctx in try showModel(app, ctx) }
        app.get("/models/{slug}/edit", access: .signedIn(.operator)) { [unowned app] ctx in try showEditModelForm(app, ctx) }
        app.post("/models/{slug}", access: .signedIn(.operator)) { [unowned app] ctx in try updateModel(app, ctx) }
        app.post("/models/{slug}/delete", access: .signedIn(.operator)) { [unowned app] ctx in try deleteModel(app, ctx) }

        app.get("/api/models", version: .anyTable) { [unowned app] ctx in try listModelsAPI(app, ctx) }
        app.post("/api/models", access: .signedIn(.operator)) { [unowned app] ctx in try createModelAPI(app, ctx) }
        app.get("/api/models/{slug}") { [unowned app] ctx in try showModelAPI(app, ctx) }
        app.post("/api/models/{slug}", access: .signedIn(.operator)) { [unowned app] ctx in try updateModelAPI(app, ctx) }
        app.delete("/api/models/{slug}", access: .signedIn(.operator)) { [unowned app] ctx in try deleteModelAPI(app, ctx) }
    }

    static func listModels(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let models = try ModelStore(database: app.database).all()
        return try app.web.render(ModelListView(
            models: models, jobCounts: try JobStore(database: app.database).countsByModel(),
            liveCounts: try DeploymentStore(database: app.database).liveCountsByModel()), ctx)
    }

    static func showModel(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let model = try requireModel(app, ctx)
        let store = DeploymentStore(database: app.database)
        // "What was live at T?", answered from the deployments' history rows.
        let liveAtText = (ctx.request.query["live_at"] ?? "").prefix(scalars: 64)
        var liveAt: ModelView.LiveAt?
        if !liveAtText.isEmpty {
            if let instant = Instant.parse(liveAtText) {
                liveAt = .init(text: liveAtText, instant: instant, states: try store.states(modelID: model.id, at: instant), error: nil)
            } else {
                liveAt = .init(text: liveAtText, instant: nil, states: [], error: "“\(liveAtText)” is not a time Trainyard can read. \(Instant.message)")
            }
        }
        return try app.web.render(ModelView(
            model: model, cardHTML: MarkdownRenderer().render(model.card).html,
            jobs: try JobStore(database: app.database).recent(limit: 20, modelID: model.id),
            deployments: try store.recent(limit: 20, modelID: model.id), liveAt: liveAt, now: Date()), ctx)
    }
}

struct ModelListView: PageView {
    static let template = "models/index"
    let title = "Models"
    let section: NavSection? = .models

    var models: [CatalogueModel]
    var jobCounts: [Int: Int]
    var liveCounts: [Int: Int]

    func members() -> [String: TemplateValue] {
        [
            "models": .list(models.map { m in
                ["name": .string(m.name), "href": .string(Paths.model(m.slug)),
                 "sizeClass": .string(m.sizeClass.label), "sizeTone": .string(m.sizeClass.rawValue),
                 "parameters": .string(m.parameterLabel), "context": .string(m.contextLabel),
                 "jobs": .int(jobCounts[m.id] ?? 0), "liveDeployments": .int(liveCounts[m.id] ?? 0),
                 "trainHref": .string(Paths.with(Paths.configure, [("model", m.slug)])), "trainLabel": .string("Train \(m.name)"),
                 "editHref": .string(Paths.editModel(m.slug)), "editLabel": .string("Edit \(m.name)"),
                 "deleteAction": .string(Paths.deleteModel(m.slug)), "deleteLabel": .string("Delete \(m.name)")]
            }),
            "hasModels": .bool(!models.isEmpty),
            "newHref": .string(Paths.newModel),
            "returnTo": .string(Paths.models),
        ]
    }
}

struct ModelView: PageView {
    static let template = "models/show"
    var title: String { model.name }
    let section: NavSection? = .models

    var model: CatalogueModel
    var cardHTML: String
    var jobs: [TrainingJob]
    var deployments: [Deployment]
    var liveAt: LiveAt?
    var now: Date

    struct LiveAt {
        var text: String
        var instant: Date?
        var states: [DeploymentStore.StateAt]
        var error: String?
    }

    var liveAtMembers: TemplateValue {
        guard let liveAt else { return .null }
        let serving = liveAt.states.filter(\.serving)
        return [
            "error": .optional(liveAt.error),
            "instant": liveAt.instant.map { .string(SQLTimestamp.iso8601($0)) } ?? .null,
            "answered": .bool(liveAt.instant != nil),
            "servingCount": .string(serving.count == 1 ? "1 deployment" : "\(serving.count) deployments"),
            "hasStates": .bool(!liveAt.states.isEmpty),
            "nothing": .bool(liveAt.instant != nil && serving.isEmpty),
            "states": .list(liveAt.states.map { s in
                ["name": .string(s.name), "version": .string(s.version), "href": .string(Paths.deployment(s.id)),
                 "status": Badge.of(s.status), "serving": .bool(s.serving), "deleted": .bool(s.event == .delete),
                 "revision": .optional(s.revision), "replicas": .optional(s.replicas.map(DeploymentStore.replicas)), "since": Format.timestamp(s.since, now: now)]
            }),
            "tableHref": liveAt.instant.map { _ in .string(Paths.with(Paths.deployments, [("live_at", liveAt.text)])) } ?? .null,
        ]
    }

    func members() -> [String: TemplateValue] {
        [
            "liveAt": liveAtMembers,
            "liveAtValue": .string(liveAt?.text ?? ""),
            "liveAtExample": .string(Instant.example),
            "liveAtAction": .string(Paths.model(model.slug)),
            "model": ["name": .string(model.name), "parameters": .string(model.parameterLabel), "sizeClass": .string(model.sizeClass.label),
                      "context": .string("\(model.contextLength) tokens")],
            "cardHTML": .string(cardHTML),
            "trainHref": .string(Paths.with(Paths.configure, [("model", model.slug)])),
            "editHref": .string(Paths.editModel(model.slug)),
            "deleteAction": .string(Paths.deleteModel(model.slug)),
            "returnTo": .string(Paths.model(model.slug)),
            "jobs": .list(jobs.map { job in
                ["name": .string(job.name), "href": .string(Paths.job(job.id)), "status": Badge.of(job.status),
                 "progress": .string(job.percent.map { "\($0)%" } ?? "step \(job.currentStep)"), "created": Format.timestamp(job.createdAt, now: now)]
            }),
            "hasJobs": .bool(!jobs.isEmpty),
            "deployments": .list(deployments.map { d in
                ["name": .string(d.name), "version": .string(d.version), "href": .string(Paths.deployment(d.id)),
                 "status": Badge.of(d.status), "created": Format.timestamp(d.createdAt, now: now)]
            }),
            "hasDeployments": .bool(!deployments.isEmpty),
            "jobsHref": .string(Paths.with(Paths.jobs, [("model", model.slug)])),
        ]
    }
}
