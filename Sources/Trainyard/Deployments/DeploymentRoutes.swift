import Foundation
import HTTPServer
import Storage
import TemplateEngine

/// Deploy completed jobs, list and inspect deployments, pause, resume, scale and delete them.
enum DeploymentRoutes {
    static func add(to app: TrainyardApp) {
        app.get("/deployments") { [unowned app] ctx in try listDeployments(app, ctx) }
        app.get("/deployments/new") { [unowned app] ctx in try showDeployForm(app, ctx) }
        app.post("/deployments") { [unowned app] ctx in try createDeployment(app, ctx) }
        app.get("/deployments/{id}") { [unowned app] ctx in try showDeployment(app, ctx) }
        app.post("/deployments/{id}/pause") { [unowned app] ctx in
            try changeDeployment(app, ctx) { store, id in try store.pause(id, by: DeploymentStore.webActor, now: Date()) }
        }
        app.post("/deployments/{id}/resume") { [unowned app] ctx in
            try changeDeployment(app, ctx) { store, id in try store.resume(id, by: DeploymentStore.webActor, now: Date()) }
        }
        app.post("/deployments/{id}/scale") { [unowned app] ctx in try scaleDeployment(app, ctx) }
        app.post("/deployments/{id}/delete") { [unowned app] ctx in
            try changeDeployment(app, ctx, successTo: Paths.deployments) { store, id in
                try store.delete(id, by: DeploymentStore.webActor, now: Date())
            }
        }
    }

    static let notFoundMessage = "There is no deployment with this id."
    static let alreadyLiveMessage = "This job already has an active deployment"
    static let notCompleteMessage = "Only completed training jobs can be deployed"

    static func newPath(jobID: Int) -> String { Paths.with(Paths.deployments + "/new", [("job_id", String(jobID))]) }

    // MARK: Deploy

    /// `GET /deployments/new?job_id=N`: name, replicas and resources before deploying, prefilled
    /// with the defaults the one-click button would use.
    static func showDeployForm(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let jobID = DeploymentForm.positiveInt(ctx.request.query["job_id"] ?? ""),
              let job = try DeploymentStore(database: app.database).job(jobID) else {
            throw HTTPError.notFound("There is no training job with this id. Pick a completed job from the training jobs list.")
        }
        let defaults = DeploymentResources.defaults(for: job.sizeClass)
        var typed: [String: String] = [
            "name": "", "replicas": String(defaults.replicas), "cpu": LineChart.compact(defaults.resources.cpu),
            "memory_mb": String(defaults.resources.memoryMB), "gpu": String(defaults.resources.gpu),
            "storage_gb": String(defaults.resources.storageGB),
        ]
        if let flash = ctx.flash, !flash.values.isEmpty {
            for field in DeploymentForm.fields where field != "job_id" { typed[field] = flash.values[field] ?? "" }
        }
        func field(_ name: String) -> TemplateValue {
            var value: [String: TemplateValue] = ["value": .string(typed[name] ?? ""), "id": .string("deploy-\(name)")]
            if let error = ctx.fieldError(name) {
                value["error"] = .string(error)
                value["errorID"] = .string("deploy-\(name)-error")
            }
            return .object(value)
        }
        return try app.web.page("deployments/new", title: "Deploy \(job.name)", section: .deployments, [
            "job": ["id": .int(job.id), "name": .string(job.name), "href": .string(Paths.job(job.id)),
                    "model": .string(job.modelName), "sizeClass": .string(job.sizeClass.label),
                    "status": Badge.job(job.status)],
            "deployable": .bool(job.status == .complete),
            "action": .string(Paths.deployments),
            "namePlaceholder": .string("\(job.modelSlug)-v1.N.0"),
            "name": field("name"), "replicas": field("replicas"), "cpu": field("cpu"), "memory": field("memory_mb"),
            "gpu": field("gpu"), "storage": field("storage_gb"),
            "jobsHref": .string(Paths.jobs),
            "deploymentsHref": .string(Paths.deployments),
        ], ctx)
    }

    /// `POST /deployments`: refusals go back where the user came from with a flash (and, from
    /// the full form, the values typed and a message per field); success goes to the table.
    static func createDeployment(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let form = DeploymentForm(ctx.request.formParameters)
        let fromForm = ctx.request.formParameters["from"] == "form"
        guard let jobID = form.parsedJobID else {
            return app.web.redirect(.failed("Choose a completed training job to deploy: the job id is missing or not a number.",
                                            redirectTo: TrainingRoutes.returnPath(ctx, fallback: Paths.jobs)), ctx)
        }
        let store = DeploymentStore(database: app.database)
        guard let job = try store.job(jobID) else {
            return app.web.redirect(.failed("There is no training job #\(jobID) to deploy.",
                                            redirectTo: TrainingRoutes.returnPath(ctx, fallback: Paths.jobs)), ctx)
        }
        let back = fromForm ? newPath(jobID: jobID) : TrainingRoutes.returnPath(ctx, fallback: Paths.job(jobID))
        guard job.status == .complete else {
            return app.web.redirect(.failed("\(notCompleteMessage); this job is \(job.status.rawValue).", redirectTo: back), ctx)
        }
        switch form.validate(defaultsFor: job.sizeClass) {
        case .failure(let errors):
            return app.web.redirect(.failed(errors.summary, redirectTo: back, values: form.values, fieldErrors: errors.byField), ctx)
        case .success(let choices):
            switch try store.create(job, choices: choices, by: DeploymentStore.webActor, now: Date()) {
            case .alreadyLive:
                return app.web.redirect(.failed(alreadyLiveMessage + ".", redirectTo: back), ctx)
            case .created(_, let name, let version):
                return app.web.redirect(.succeeded("Deploying \(name) (\(version)): starting \(DeploymentStore.replicas(choices.replicas)).",
                                                   redirectTo: Paths.deployments), ctx)
            }
        }
    }

    // MARK: Lifecycle

    static func changeDeployment(_ app: TrainyardApp, _ ctx: WebContext, successTo: String? = nil,
                                 _ action: (DeploymentStore, Int) throws -> DeploymentStore.ChangeResult) throws -> HTTPResponse {
        guard let id = ctx.idParameter() else { throw HTTPError.notFound(notFoundMessage) }
        let back = TrainingRoutes.returnPath(ctx, fallback: Paths.deployment(id))
        switch try action(DeploymentStore(database: app.database), id) {
        case .notFound:
            throw HTTPError.notFound(notFoundMessage)
        case .deleted:
            return app.web.redirect(.failed("This deployment has been deleted; it can no longer be changed.", redirectTo: back), ctx)
        case .notAllowed(let message):
            return app.web.redirect(.failed(message, redirectTo: back), ctx)
        case .unchanged(let message):
            return app.web.redirect(ActionOutcome(location: back, flash: Flash(.info, message + ".")), ctx)
        case .changed(let message):
            return app.web.redirect(.succeeded(message + ".", redirectTo: successTo ?? back), ctx)
        }
    }

    static func scaleDeployment(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter(), try DeploymentStore(database: app.database).find(id) != nil else {
            throw HTTPError.notFound(notFoundMessage)
        }
        let text = ctx.request.formParameters["replicas"] ?? ""
        guard let target = DeploymentForm.positiveInt(text), DeploymentResources.replicaRange.contains(target) else {
            return app.web.redirect(.failed("Replicas must be a whole number from 1 to 100.",
                                            redirectTo: TrainingRoutes.returnPath(ctx, fallback: Paths.deployment(id)),
                                            values: ["replicas": text], fieldErrors: ["replicas": "Enter a whole number from 1 to 100."]), ctx)
        }
        return try changeDeployment(app, ctx) { store, id in try store.scale(id, to: target, by: DeploymentStore.webActor, now: Date()) }
    }
}
