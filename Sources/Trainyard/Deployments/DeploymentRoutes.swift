import Foundation
import HTTPServer
import TemplateEngine

/// Deploy completed jobs, list and inspect deployments, pause, resume, scale and delete them.
enum DeploymentRoutes {
    static func add(to app: TrainyardApp) {
        app.get("/deployments", version: DeploymentRoutes.tableVersion) { [unowned app] ctx in try listDeployments(app, ctx) }
        for format in ExportFormat.allCases {
            app.get(Paths.export(Paths.deployments, format)) { [unowned app] ctx in try exportDeployments(app, ctx, format) }
        }
        app.get("/deployments/new", access: .signedIn(.operator)) { [unowned app] ctx in try showDeployForm(app, ctx) }
        app.post("/deployments", access: .signedIn(.operator)) { [unowned app] ctx in try createDeployment(app, ctx) }
        app.get("/deployments/{id}", version: .anyTable) { [unowned app] ctx in try showDeployment(app, ctx) }
        app.post("/deployments/{id}/pause", access: .signedIn(.operator)) { [unowned app] ctx in try changeDeployment(app, ctx, .pause) }
        app.post("/deployments/{id}/resume", access: .signedIn(.operator)) { [unowned app] ctx in try changeDeployment(app, ctx, .resume) }
        app.post("/deployments/{id}/scale", access: .signedIn(.operator)) { [unowned app] ctx in try scaleDeployment(app, ctx) }
        app.post("/deployments/{id}/delete", access: .signedIn(.operator)) { [unowned app] ctx in try changeDeployment(app, ctx, .delete) }
        app.post("/deployments/{id}/retry", access: .signedIn(.operator)) { [unowned app] ctx in try changeDeployment(app, ctx, .retry) }
        app.post("/deployments/{id}/configure", access: .signedIn(.operator)) { [unowned app] ctx in try configureDeployment(app, ctx) }
        app.post("/deployments/{id}/rollback", access: .signedIn(.operator)) { [unowned app] ctx in try rollBackDeployment(app, ctx) }
        app.post("/deployments/{id}/guardrails", access: .signedIn(.operator)) { [unowned app] ctx in try addGuardrail(app, ctx) }
        app.post("/deployments/{id}/guardrails/{rule}/delete", access: .signedIn(.operator)) { [unowned app] ctx in
            try removeGuardrail(app, ctx)
        }
    }

    static let notFoundMessage = "There is no deployment with this id."
    /// The duplicate-deploy refusal, naming the live deployment's real status.
    static func alreadyLiveMessage(name: String, status: DeploymentStatus) -> String {
        "This job already has a live deployment: \(name) is \(status.rawValue). Open it to resume, scale or delete it."
    }
    static let notCompleteMessage = "Only completed training jobs can be deployed"
    static let noBaseModelMessage = "This run has no base model yet: pick one from the catalogue on its page, then deploy it."

    static func newPath(jobID: Int) -> String { Paths.with(Paths.deployments + "/new", [("job_id", String(jobID))]) }

    // MARK: Deploy

    /// `GET /deployments/new?job_id=N`: name, replicas and resources before deploying, prefilled
    /// with the defaults the one-click button would use.
    static func showDeployForm(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let jobID = DeploymentForm.positiveInt(ctx.request.query["job_id"] ?? ""),
              let job = try JobStore(database: app.database).find(jobID) else {
            throw HTTPError.notFound("There is no training job with this id. Pick a completed job from the training jobs list.")
        }
        let fields = DeploymentForm.fields.filter { $0 != "job_id" }
        let typed = ctx.formValues(fields, defaults: DeploymentForm.defaults(for: job.model?.sizeClass ?? .small))
        var view = DeployFormView(job: job, typed: typed, ctx)
        view.source = SourcePanel.fields(ctx.formValues(SourceForm.fields, defaults: SourceForm.values(for: nil)), ctx)
        return try app.web.render(view, ctx)
    }

    /// `POST /deployments`: refusals go back where the user came from with a flash (and, from
    /// the full form, the values typed and a message per field); success goes to the table.
    static func createDeployment(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let form = DeploymentForm(ctx.request.formParameters)
        let fromForm = ctx.request.formParameters["from"] == "form"
        guard let jobID = form.parsedJobID else {
            return app.web.redirect(.failed(DeploymentMessages.missingJobID,
                                            redirectTo: ctx.returnPath(fallback: Paths.jobs)), ctx)
        }
        guard let job = try JobStore(database: app.database).find(jobID) else {
            return app.web.redirect(.failed(DeploymentMessages.noSuchJob(jobID),
                                            redirectTo: ctx.returnPath(fallback: Paths.jobs)), ctx)
        }
        let back = fromForm ? newPath(jobID: jobID) : ctx.returnPath(fallback: Paths.job(jobID))
        guard job.status == .complete else {
            return app.web.redirect(.failed(DeploymentMessages.notComplete(job.status), redirectTo: back), ctx)
        }
        guard let model = job.model else {
            return app.web.redirect(.failed(noBaseModelMessage, redirectTo: Paths.job(jobID)), ctx)
        }
        // The source fields are on the full form only; the one-click buttons deploy simulated.
        let sourceForm = SourceForm(ctx.request.formParameters)
        let source = sourceForm.validate(allowlist: app.configuration.scrapeAllowlist)
        switch (form.validate(defaultsFor: model.sizeClass), source) {
        case (.failure(let errors), _), (.success, .failure(let errors)):
            var all = errors
            if case .failure(let sourceErrors) = source { all = all.merging(sourceErrors) }
            return app.web.redirect(.failed(all.summary, redirectTo: back, values: form.values.merging(sourceForm.values) { a, _ in a },
                                            fieldErrors: all.byField), ctx)
        case (.success(let choices), .success(let sourceChoice)):
            let actor = try ctx.requireActor
            switch try DeploymentStore(database: app.database).create(job, model: model, choices: choices, by: actor, now: Date()) {
            case .alreadyLive(let id, let name, let status):
                return app.web.redirect(.failed(alreadyLiveMessage(name: name, status: status), redirectTo: back,
                                                link: (label: "Open \(name)", href: Paths.deployment(id))), ctx)
            case .created(let id, let name, let version):
                if sourceChoice.kind != .simulated {
                    _ = try InferenceSourceStore(database: app.database).set(id, to: sourceChoice, by: actor, now: Date())
                }
                return app.web.redirect(.succeeded(DeploymentMessages.deploying(name, version, replicas: choices.replicas),
                                                   redirectTo: Paths.deployments), ctx)
            }
        }
    }

    // MARK: Lifecycle

    enum Action {
        case pause, resume, delete, retry
        case scale(to: Int)
        case configure(replicas: Int, resources: DeploymentResources)
        case rollback(revision: Int)
    }

    static func changeDeployment(_ app: TrainyardApp, _ ctx: WebContext, _ action: Action) throws -> HTTPResponse {
        guard let id = ctx.idParameter() else { throw HTTPError.notFound(notFoundMessage) }
        let back = ctx.returnPath(fallback: Paths.deployment(id))
        let store = DeploymentStore(database: app.database)
        let now = Date(), actor = try ctx.requireActor
        switch try action.perform(on: store, id, by: actor, now: now) {
        case .notFound:
            throw HTTPError.notFound(notFoundMessage)
        case .deleted:
            return app.web.redirect(.failed(DeploymentMessages.deleted, redirectTo: back), ctx)
        case .notAllowed(let current):
            return app.web.redirect(.failed(DeploymentMessages.notAllowed(action, current: current), redirectTo: back), ctx)
        case .rolloutInProgress(let revision):
            return app.web.redirect(.failed(DeploymentMessages.rolloutInProgress(revision), redirectTo: back), ctx)
        case .noSuchRevision(let number):
            return app.web.redirect(.failed(DeploymentMessages.noSuchRevision(number), redirectTo: back), ctx)
        case .jobAlreadyLive(let liveID, let name, let status):
            return app.web.redirect(.failed(DeploymentMessages.jobAlreadyLive(name: name, status: status), redirectTo: back,
                                            link: (label: "Open \(name)", href: Paths.deployment(liveID))), ctx)
        case .unchanged(let d):
            return app.web.redirect(ActionOutcome(location: back, flash: Flash(.info, DeploymentMessages.unchanged(action, d))), ctx)
        case .changed(let d):
            let message = DeploymentMessages.changed(action, d)
            if case .delete = action { return app.web.redirect(.succeeded(message, redirectTo: Paths.deployments), ctx) }
            return app.web.redirect(.succeeded(message, redirectTo: back), ctx)
        }
    }

    static func scaleDeployment(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter(), try DeploymentStore(database: app.database).find(id) != nil else {
            throw HTTPError.notFound(notFoundMessage)
        }
        let text = ctx.request.formParameters["replicas"] ?? ""
        guard case .success(let target) = DeploymentRules.replicas.parse(text) else {
            return app.web.redirect(.failed(DeploymentRules.replicas.message, redirectTo: ctx.returnPath(fallback: Paths.deployment(id)),
                                            values: ["replicas": text], fieldErrors: ["replicas": DeploymentRules.replicas.message]), ctx)
        }
        return try changeDeployment(app, ctx, .scale(to: target))
    }
}

struct DeployFormView: PageView {
    static let template = "deployments/new"
    var title: String { "Deploy \(job.name)" }
    let section: NavSection? = .deployments

    var job: TrainingJob
    var fields: [String: FormField]
    var source: [String: TemplateValue] = [:]

    init(job: TrainingJob, typed: [String: String], _ ctx: WebContext) {
        self.job = job
        let extra: [String: [String: TemplateValue]] = [
            "name": ["maxlength": .int(DeploymentRules.name.maxScalars)],
            "replicas": DeploymentRules.replicas.attributes, "cpu": DeploymentRules.cpu.attributes,
            "memory_mb": DeploymentRules.memoryMB.attributes, "gpu": DeploymentRules.gpu.attributes,
            "storage_gb": DeploymentRules.storageGB.attributes,
        ]
        var fields: [String: FormField] = [:]
        for (name, value) in typed {
            // Every field but the name is an <input type="number">.
            fields[name] = FormField(name, prefix: "deploy", value: name == "name" ? value : FormField.numberValue(value), ctx,
                                     extra: extra[name] ?? [:])
        }
        self.fields = fields
    }

    func members() -> [String: TemplateValue] {
        [
            "job": ["id": .int(job.id), "name": .string(job.name), "href": .string(Paths.job(job.id)),
                    "model": .string(job.modelName ?? "no base model yet"), "sizeClass": .string(job.model?.sizeClass.label ?? "—"),
                    "status": Badge.of(job.status)],
            "deployable": .bool(job.status == .complete && job.model != nil),
            "needsModel": .bool(job.model == nil),
            "action": .string(Paths.deployments),
            "namePlaceholder": .string("\(job.modelSlug ?? "model")-v1.N.0"),
            "name": fields["name"].templateValue, "replicas": fields["replicas"].templateValue, "cpu": fields["cpu"].templateValue,
            "memory": fields["memory_mb"].templateValue, "gpu": fields["gpu"].templateValue, "storage": fields["storage_gb"].templateValue,
            "jobsHref": .string(Paths.jobs),
            "deploymentsHref": .string(Paths.deployments),
            "source": .object(source),
        ]
    }
}
