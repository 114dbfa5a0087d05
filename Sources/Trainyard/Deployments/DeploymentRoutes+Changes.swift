import Foundation
import HTTPServer

/// The detail page's forms beyond pause/resume/delete: configuration changes (revisions),
/// rollback to a revision or to an earlier version of the model, and guardrails.
extension DeploymentRoutes {
    static let configureFields = ["replicas", "cpu", "memory_mb", "gpu", "storage_gb"]

    /// `POST /deployments/{id}/configure`: empty fields keep the current value.
    static func configureDeployment(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let store = DeploymentStore(database: app.database)
        guard let id = ctx.idParameter(), let d = try store.find(id), let current = try store.resources(id) else {
            throw HTTPError.notFound(notFoundMessage)
        }
        let back = ctx.returnPath(fallback: Paths.deployment(id))
        let form = DeploymentForm(ctx.request.formParameters)
        switch form.validate(defaults: (d.targetReplicas, current)) {
        case .failure(let errors):
            let typed = form.values.filter { configureFields.contains($0.key) }
            return app.web.redirect(.failed(errors.summary, redirectTo: back + "#configure", values: typed, fieldErrors: errors.byField), ctx)
        case .success(let choices):
            return try changeDeployment(app, ctx, .configure(replicas: choices.replicas, resources: choices.resources))
        }
    }

    /// `POST /deployments/{id}/rollback` with `revision=N` (this deployment's config N) or
    /// `version=v1.K.0` (the model's earlier deployment's job, deployed again with this
    /// deployment's config; this one stops once that one is active).
    static func rollBackDeployment(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let store = DeploymentStore(database: app.database)
        guard let id = ctx.idParameter(), let d = try store.find(id) else { throw HTTPError.notFound(notFoundMessage) }
        let back = ctx.returnPath(fallback: Paths.deployment(id))
        let form = ctx.request.formParameters
        if let text = form["revision"], !text.isEmpty {
            guard let number = DeploymentForm.positiveInt(text) else {
                return app.web.redirect(.failed("Choose a revision number to roll back to.", redirectTo: back), ctx)
            }
            return try changeDeployment(app, ctx, .rollback(revision: number))
        }
        guard let version = form["version"]?.trimmingCharacters(in: .whitespaces), !version.isEmpty else {
            return app.web.redirect(.failed("Choose a revision or a version to roll back to.", redirectTo: back), ctx)
        }
        switch try rollBack(app, d, toVersion: version, by: try ctx.requireActor) {
        case .failure(let message):
            return app.web.redirect(.failed(message.text, redirectTo: back, link: message.link), ctx)
        case .success(let created):
            return app.web.redirect(.succeeded("Rolling back to \(version): \(created.name) (\(created.version)) is starting; "
                                               + "\(d.name) stops once it serves.", redirectTo: Paths.deployment(created.id)), ctx)
        }
    }

    struct RefusalMessage: Error {
        var text: String
        var link: (label: String, href: String)?
        /// The version asked for does not exist (a 404 in the API; every other refusal is a conflict).
        var notFound = false
    }

    /// Rollback to an earlier version: shared by the page and the API.
    static func rollBack(_ app: TrainyardApp, _ d: Deployment, toVersion version: String,
                         by actor: Actor) throws -> Result<(id: Int, name: String, version: String), RefusalMessage> {
        let store = DeploymentStore(database: app.database)
        if d.isDeleted { return .failure(RefusalMessage(text: "This deployment has been deleted; it can no longer be changed.")) }
        if d.status == .failed || d.status == .paused {
            return .failure(RefusalMessage(text: "Only a serving (active or deploying) deployment can be rolled back to another version; "
                                           + "this one is \(d.status.rawValue). Deploy the job of that version instead."))
        }
        guard version != d.version else {
            return .failure(RefusalMessage(text: "\(d.name) already is \(version); roll back to one of its revisions instead."))
        }
        guard let earlier = try store.version(modelID: d.model.id, version), let job = try JobStore(database: app.database).find(earlier.jobID),
              let model = job.model else {
            return .failure(RefusalMessage(text: "\(d.modelName) has no deployment \(version.prefix(scalars: 40)) to roll back to.", notFound: true))
        }
        guard job.status == .complete else {
            return .failure(RefusalMessage(text: "\(notCompleteMessage); the job of \(version) is \(job.status.rawValue)."))
        }
        let resources = try store.resources(d.id) ?? DeploymentResources.defaults(for: model.sizeClass).resources
        let choices = DeploymentStore.Choices(name: nil, replicas: d.targetReplicas, resources: resources)
        switch try store.create(job, model: model, choices: choices, by: actor, now: Date(), replacing: d) {
        case .alreadyLive(let id, let name, let status):
            return .failure(RefusalMessage(text: alreadyLiveMessage(name: name, status: status), link: ("Open \(name)", Paths.deployment(id))))
        case .created(let id, let name, let version):
            return .success((id, name, version))
        }
    }

    // MARK: Guardrails

    static let guardrailFields = ["metric", "threshold", "minutes", "action"]

    static func addGuardrail(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter(), try DeploymentStore(database: app.database).find(id) != nil else {
            throw HTTPError.notFound(notFoundMessage)
        }
        let back = ctx.returnPath(fallback: Paths.deployment(id)) + "#guardrails"
        let form = ctx.request.formParameters
        let typed = form.values(of: guardrailFields)
        var errors = FieldErrors()
        let metric = Guardrail.Metric(rawValue: typed["metric"]!)
        if metric == nil { errors["metric"] = "Choose P95 latency, P99 latency or error rate." }
        var threshold = 0.0, minutes = 0
        switch GuardrailRules.threshold.parse(typed["threshold"]!) {
        case .success(let v)?: threshold = v
        case .failure(let e)?: errors["threshold"] = e.message
        case nil: errors["threshold"] = GuardrailRules.threshold.message
        }
        switch GuardrailRules.minutes.parse(typed["minutes"]!) {
        case .success(let v)?: minutes = v
        case .failure(let e)?: errors["minutes"] = e.message
        case nil: errors["minutes"] = GuardrailRules.minutes.message
        }
        let action = Guardrail.Action(rawValue: typed["action"]!)
        if action == nil { errors["action"] = "Choose whether a breach flags or pauses the deployment." }
        guard errors.isEmpty, let metric, let action else {
            return app.web.redirect(.failed(errors.summary, redirectTo: back, values: typed, fieldErrors: errors.byField), ctx)
        }
        switch try GuardrailStore(database: app.database).add(id, metric: metric, threshold: threshold, minutes: minutes, action: action,
                                                               by: try ctx.requireActor, now: Date()) {
        case .notFound: throw HTTPError.notFound(notFoundMessage)
        case .deleted:
            return app.web.redirect(.failed("This deployment has been deleted; it can no longer be changed.", redirectTo: back), ctx)
        case .tooMany:
            return app.web.redirect(.failed("A deployment can have at most \(GuardrailRules.perDeployment) guardrails; remove one first.",
                                            redirectTo: back, values: typed), ctx)
        case .added(let rule):
            return app.web.redirect(.succeeded("Guardrail added: \(rule.summary) will \(action == .pause ? "pause the deployment" : "flag it").",
                                               redirectTo: back), ctx)
        }
    }

    static func removeGuardrail(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter(), let rule = ctx.idParameter("rule") else {
            throw HTTPError.notFound(notFoundMessage)
        }
        let back = ctx.returnPath(fallback: Paths.deployment(id)) + "#guardrails"
        guard try GuardrailStore(database: app.database).remove(id, rule: rule, by: try ctx.requireActor, now: Date()) else {
            return app.web.redirect(.failed("There is no such guardrail on this deployment (it may have been removed already).",
                                            redirectTo: back), ctx)
        }
        return app.web.redirect(.succeeded("Guardrail removed.", redirectTo: back), ctx)
    }
}
