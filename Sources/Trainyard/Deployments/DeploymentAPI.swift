import Foundation
import HTTPServer

/// The deployments as JSON for scripts: the table, one deployment, deploy, and the lifecycle
/// actions, with the pages' rules and messages. Refusals: 400 a body or field that is not
/// accepted (with `field` and `errors`), 404 no such deployment or job, 409 a conflict with the
/// current state (already live, not allowed in this status, deleted), 415 not JSON.
/// `Docs/openapi.json` describes every route; `OpenAPITests` holds the two together.
enum DeploymentAPI {
    static func add(to app: TrainyardApp) {
        app.get(Paths.deploymentsAPI, version: DeploymentRoutes.tableVersion) { [unowned app] ctx in try listDeployments(app, ctx) }
        app.post(Paths.deploymentsAPI, access: .signedIn(.operator)) { [unowned app] ctx in try refusing { try createDeployment(app, ctx) } }
        app.get(Paths.deploymentsAPI + "/{id}", version: .anyTable) { [unowned app] ctx in try showDeployment(app, ctx) }
        app.delete(Paths.deploymentsAPI + "/{id}", access: .signedIn(.operator)) { [unowned app] ctx in try change(app, ctx, .delete) }
        app.post(Paths.deploymentsAPI + "/{id}/pause", access: .signedIn(.operator)) { [unowned app] ctx in try change(app, ctx, .pause) }
        app.post(Paths.deploymentsAPI + "/{id}/resume", access: .signedIn(.operator)) { [unowned app] ctx in try change(app, ctx, .resume) }
        app.post(Paths.deploymentsAPI + "/{id}/scale", access: .signedIn(.operator)) { [unowned app] ctx in try refusing { try scaleDeployment(app, ctx) } }
        app.post(Paths.deploymentsAPI + "/{id}/rollback", access: .signedIn(.operator)) { [unowned app] ctx in
            try refusing { try rollBackDeployment(app, ctx) }
        }
    }

    // MARK: Reads

    /// `GET /api/deployments`: the `/deployments` query string, parsed by the same `ListRequest`.
    static func listDeployments(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        var request = ListRequest(DeploymentRoutes.list, ctx.request.query)
        // The page's other filters too (live_at, attention, source, up); an unreadable live_at is left out, as there.
        let (filters, _, _) = DeploymentRoutes.extraFilters(ctx.request.query, &request)
        let result = try DeploymentStore(database: app.database).list(request.slice, filters: filters)
        let query = request.query
        // As the page's "next" link: no page is offered deeper than the list serves.
        let hasMore = result.hasMore && query.offset + query.perPage <= DeploymentRoutes.list.maxOffset
        return JSON.response(DeploymentJSON.List(
            deployments: result.rows.map(DeploymentJSON.Summary.init), q: query.q, status: request.statuses.map(\.rawValue),
            sort: request.sort.rawValue, dir: query.direction.rawValue, page: query.page, per: query.perPage, hasMore: hasMore,
            liveAt: filters.liveAt.map(Format.iso), attention: filters.attention ? true : nil, source: filters.source?.rawValue, up: filters.up))
    }

    static func showDeployment(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        JSON.response(try detail(app, try requireDeployment(app, ctx)))
    }

    // MARK: Deploy

    static let deployExample = #"{"job_id": 42, "replicas": 2}"#

    /// `POST /api/deployments`: the deploy form's checks in the page's order, then the store.
    static func createDeployment(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let body = try parse(ctx.request, fields: DeploymentForm.fields, example: deployExample)
        let form = DeploymentForm(QueryParameters(DeploymentForm.fields.map { ($0, body.fields[$0] ?? "") }))
        guard body.typeErrors["job_id"] == nil, let jobID = form.parsedJobID else {
            throw FieldErrors(["job_id": DeploymentMessages.missingJobID])
        }
        guard let job = try JobStore(database: app.database).find(jobID) else {
            return JSON.error(DeploymentMessages.noSuchJob(jobID), status: 404)
        }
        guard job.status == .complete else { return JSON.error(DeploymentMessages.notComplete(job.status), status: 409) }
        guard let model = job.model else { return JSON.error(DeploymentRoutes.noBaseModelMessage, status: 409) }
        let choices: DeploymentStore.Choices
        switch form.validate(defaultsFor: model.sizeClass) {
        case .failure(let errors):
            throw errors.merging(body.typeErrors)
        case .success(let valid):
            guard body.typeErrors.isEmpty else { throw body.typeErrors }
            choices = valid
        }
        let store = DeploymentStore(database: app.database)
        switch try store.create(job, model: model, choices: choices, by: try ctx.requireActor, now: Date()) {
        case .alreadyLive(_, let name, let status):
            return JSON.error(DeploymentRoutes.alreadyLiveMessage(name: name, status: status), status: 409)
        case .created(let id, _, _):
            guard let created = try store.find(id) else { return JSON.error(DeploymentRoutes.notFoundMessage, status: 404) }
            var response = JSON.response(try detail(app, created), status: 201)
            response.headers.set("Location", Paths.deploymentAPI(id))
            return response
        }
    }

    // MARK: Lifecycle

    /// `POST /api/deployments/{id}/scale` `{"replicas": N}`: 404 before the body is looked at, as on the page.
    static func scaleDeployment(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let d = try requireDeployment(app, ctx)
        let resourceFields = ["cpu", "memory_mb", "gpu", "storage_gb"]
        let body = try parse(ctx.request, fields: ["replicas"] + resourceFields, example: #"{"replicas": 3, "memory_mb": 32768}"#)
        let replicas = try body.required(DeploymentRules.replicas)
        guard resourceFields.contains(where: { body.fields[$0] != nil }) else { return try change(app, ctx, .scale(to: replicas)) }
        // New resources: the configuration form's checks, with the current values for fields not sent.
        guard body.typeErrors.isEmpty else { throw body.typeErrors }
        let current = try DeploymentStore(database: app.database).resources(d.id) ?? DeploymentResources.defaults(for: d.sizeClass).resources
        let form = DeploymentForm(QueryParameters(DeploymentForm.fields.map { ($0, $0 == "replicas" ? String(replicas) : body.fields[$0] ?? "") }))
        switch form.validate(defaults: (replicas, current)) {
        case .failure(let errors): throw errors
        case .success(let choices): return try change(app, ctx, .configure(replicas: choices.replicas, resources: choices.resources))
        }
    }

    /// `POST /api/deployments/{id}/rollback` `{"revision": N}` or `{"version": "v1.K.0"}`.
    static func rollBackDeployment(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let d = try requireDeployment(app, ctx)
        let body = try JSONFormBody.parse(ctx.request, fields: ["revision", "version"], textFields: ["version"], noun: "the rollback",
                                          example: #"{"revision": 2}"#, typeMessage: { field in
            field == "revision" ? "Give the revision as a whole number." : "Give the version as text, such as v1.0.0."
        })
        guard body.typeErrors.isEmpty else { throw body.typeErrors }
        switch (body.fields["revision"], body.fields["version"]) {
        case (let revision?, nil):
            guard let number = DeploymentForm.positiveInt(revision) else { throw FieldErrors(["revision": "Give the revision as a whole number."]) }
            return try change(app, ctx, .rollback(revision: number))
        case (nil, let version?):
            switch try DeploymentRoutes.rollBack(app, d, toVersion: version.trimmingCharacters(in: .whitespaces), by: try ctx.requireActor) {
            case .failure(let refusal):
                return JSON.error(refusal.text, status: refusal.notFound ? 404 : 409)
            case .success(let created):
                guard let after = try DeploymentStore(database: app.database).find(created.id) else {
                    return JSON.error(DeploymentRoutes.notFoundMessage, status: 404)
                }
                var response = JSON.response(try detail(app, after), status: 201)
                response.headers.set("Location", Paths.deploymentAPI(created.id))
                return response
            }
        default:
            return JSON.error("Send either a revision or a version to roll back to, such as {\"revision\": 2}.", status: 400)
        }
    }

    /// Runs `action` and answers with the deployment as it is afterwards (also when there was
    /// nothing to do), or the page's refusal.
    static func change(_ app: TrainyardApp, _ ctx: WebContext, _ action: DeploymentRoutes.Action) throws -> HTTPResponse {
        guard let id = ctx.idParameter() else { return JSON.error(DeploymentRoutes.notFoundMessage, status: 404) }
        let store = DeploymentStore(database: app.database)
        switch try action.perform(on: store, id, by: try ctx.requireActor, now: Date()) {
        case .notFound:
            return JSON.error(DeploymentRoutes.notFoundMessage, status: 404)
        case .deleted:
            return JSON.error(DeploymentMessages.deleted, status: 409)
        case .notAllowed(let current):
            return JSON.error(DeploymentMessages.notAllowed(action, current: current), status: 409)
        case .rolloutInProgress(let revision):
            return JSON.error(DeploymentMessages.rolloutInProgress(revision), status: 409)
        case .noSuchRevision(let number):
            return JSON.error(DeploymentMessages.noSuchRevision(number), status: 404)
        case .jobAlreadyLive(_, let name, let status):
            return JSON.error(DeploymentMessages.jobAlreadyLive(name: name, status: status), status: 409)
        case .changed, .unchanged:
            guard let after = try store.find(id) else { return JSON.error(DeploymentRoutes.notFoundMessage, status: 404) }
            return JSON.response(try detail(app, after))
        }
    }

    // MARK: Shared

    static func requireDeployment(_ app: TrainyardApp, _ ctx: WebContext) throws -> Deployment {
        guard let id = ctx.idParameter(), let d = try DeploymentStore(database: app.database).find(id) else {
            throw HTTPError.notFound(DeploymentRoutes.notFoundMessage)
        }
        return d
    }

    static func detail(_ app: TrainyardApp, _ d: Deployment) throws -> DeploymentJSON.Detail {
        let store = DeploymentStore(database: app.database)
        return DeploymentJSON.Detail(d, replicas: try store.replicas(d.id), resources: try store.resources(d.id), history: try store.history(d.id),
                                     revisions: try store.revisions(d.id), source: try InferenceSourceStore(database: app.database).find(d.id))
    }

    /// A request body of `fields`; only `name` is text, the rest are numbers.
    static func parse(_ request: HTTPRequest, fields: [String], example: String) throws -> JSONFormBody {
        try JSONFormBody.parse(request, fields: fields, textFields: ["name"], noun: "the deployment", example: example,
                               typeMessage: typeMessage)
    }

    /// The rule's own message for a number sent as something else; the form's for the rest.
    static func typeMessage(_ field: String) -> String {
        switch field {
        case "job_id": DeploymentMessages.missingJobID
        case "replicas": DeploymentRules.replicas.message
        case "cpu": DeploymentRules.cpu.message
        case "memory_mb": DeploymentRules.memoryMB.message
        case "gpu": DeploymentRules.gpu.message
        case "storage_gb": DeploymentRules.storageGB.message
        default: "\(field) must be a JSON string."
        }
    }

    /// Field refusals thrown by a handler become 400s that name the field; every other error
    /// goes on to the web layer's boundary.
    static func refusing(_ handler: () throws -> HTTPResponse) throws -> HTTPResponse {
        do {
            return try handler()
        } catch let errors as FieldErrors {
            return JSON.refused(errors, order: DeploymentForm.fields)
        } catch let error as InvalidInput {
            return JSON.refused(FieldErrors([error.field: error.message]), order: DeploymentForm.fields)
        }
    }
}

extension FieldErrors {
    /// These errors, with `other`'s for fields that have none here.
    func merging(_ other: FieldErrors) -> FieldErrors {
        FieldErrors(byField.merging(other.byField) { mine, _ in mine })
    }
}

extension JSONFormBody {
    /// The required number `rule.field`, parsed by its rule; a refusal names the field.
    func required(_ rule: IntegerRule) throws -> Int {
        if let message = typeErrors[rule.field] { throw FieldErrors([rule.field: message]) }
        switch rule.parse(fields[rule.field] ?? "") {
        case .success(let value): return value
        case .failure, nil: throw FieldErrors([rule.field: rule.message])
        }
    }
}
