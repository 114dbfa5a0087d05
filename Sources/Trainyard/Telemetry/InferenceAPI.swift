import Foundation
import HTTPServer

/// The inference API: choose a deployment's metrics source, read its stored minutes, and push
/// minutes from a model server that cannot be scraped. Refusals as the deployments API's.
enum InferenceAPI {
    static func add(to app: TrainyardApp) {
        app.put(Paths.deploymentsAPI + "/{id}/source", access: .signedIn(.operator)) { [unowned app] ctx in try setSource(app, ctx) }
        app.get(Paths.deploymentsAPI + "/{id}/inference") { [unowned app] ctx in try windows(app, ctx) }
        app.post(Paths.deploymentsAPI + "/{id}/inference", access: .signedIn(.operator)) { [unowned app] ctx in try push(app, ctx) }
    }

    /// The body's names: `kind` for the form's `source` field, the rest as on the form.
    static let sourceFields = ["kind"] + SourceForm.fields.dropFirst()
    static let sourceExample = #"{"kind": "scraped", "target_url": "http://127.0.0.1:8000/metrics", "interval_seconds": 15, "preset": "vllm"}"#

    /// `PUT /api/deployments/{id}/source`: the whole source, as the detail page's form sets it.
    static func setSource(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let d = try DeploymentAPI.requireDeployment(app, ctx)
        let body = try JSONFormBody.parse(ctx.request, fields: sourceFields, textFields: Set(sourceFields).subtracting(["interval_seconds"]),
                                          noun: "the metrics source", example: sourceExample, typeMessage: { field in
            field == "interval_seconds" ? SourceForm.interval.message : "\(field) must be a JSON string."
        })
        guard body.typeErrors.isEmpty else { return JSON.refused(body.typeErrors, order: sourceFields) }
        var values = body.fields
        values["source"] = values.removeValue(forKey: "kind")
        switch SourceForm(values: values).validate(allowlist: app.configuration.scrapeAllowlist) {
        case .failure(let errors):
            return JSON.refused(FieldErrors(Dictionary(uniqueKeysWithValues: errors.byField.map { ($0.key == "source" ? "kind" : $0.key, $0.value) })),
                                order: sourceFields)
        case .success(let choice):
            switch try InferenceSourceStore(database: app.database).set(d.id, to: choice, by: try ctx.requireActor, now: Date()) {
            case .notFound: return JSON.error(DeploymentRoutes.notFoundMessage, status: 404)
            case .deleted: return JSON.error(DeploymentMessages.deleted, status: 409)
            case .changed, .unchanged:
                guard let after = try DeploymentStore(database: app.database).find(d.id) else {
                    return JSON.error(DeploymentRoutes.notFoundMessage, status: 404)
                }
                return JSON.response(try DeploymentAPI.detail(app, after))
            }
        }
    }

    static let defaultRange: TimeInterval = 3600

    /// `GET /api/deployments/{id}/inference?since=…`: stored minutes from `since` (default: the
    /// last hour), oldest first, at most a day of them.
    static func windows(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let d = try DeploymentAPI.requireDeployment(app, ctx)
        var since = Date().addingTimeInterval(-defaultRange)
        if let text = ctx.request.query["since"], !text.isEmpty {
            guard let parsed = Instant.parse(text) else {
                return JSON.refused(FieldErrors(["since": "since must be a time in ISO 8601, such as 2026-12-02T09:00:00Z."]), order: ["since"])
            }
            since = parsed
        }
        let store = InferenceSourceStore(database: app.database)
        let rows = try store.windows(d.id, since: since, limit: PushedWindows.maxWindows)
        return JSON.response(InferenceJSON.Windows(deploymentId: d.id, source: InferenceJSON.Source(kind: d.metricsSource, try store.find(d.id)),
                                                   since: Format.iso(since), windows: rows.map(InferenceJSON.Window.init)))
    }

    /// `POST /api/deployments/{id}/inference`: minutes replace what was stored for them, so
    /// sending the same window twice changes nothing.
    static func push(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let d = try DeploymentAPI.requireDeployment(app, ctx)
        let mediaType = ctx.request.headers["Content-Type"]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/json" else {
            return JSON.error("Send the windows as JSON, with the header Content-Type: application/json.", status: 415)
        }
        guard !d.isDeleted else { return JSON.error(DeploymentMessages.deleted, status: 409) }
        guard d.metricsSource == .pushed else {
            return JSON.error("\(d.name)'s figures are \(d.metricsSource.rawValue); set its metrics source to pushed first "
                              + "(PUT \(Paths.deploymentAPI(d.id))/source {\"kind\": \"pushed\"}).", status: 409)
        }
        let now = Date()
        switch PushedWindows.parse(ctx.request.body, now: now) {
        case .failure(let refusal):
            return JSON.refused(FieldErrors([refusal.field: refusal.message]), order: [refusal.field])
        case .success(let pushed):
            let stored = try app.database.transaction { conn -> Int? in
                guard let locked = try DeploymentStore.lockedDeployment(conn, d.id), !locked.isDeleted, locked.metricsSource == .pushed else {
                    return nil
                }
                for (index, bucket) in pushed.buckets.enumerated() {
                    // Guardrails judge the newest minute of the batch, as they judge each simulated minute.
                    try InferenceSourceStore.writeWindow(conn, locked, bucket, source: .pushed, evaluate: index == pushed.buckets.count - 1, now: now)
                }
                return pushed.buckets.count
            }
            guard let stored else { return JSON.error("The metrics source changed while the windows were sent; send them again.", status: 409) }
            return JSON.response(InferenceJSON.Accepted(accepted: stored))
        }
    }
}
