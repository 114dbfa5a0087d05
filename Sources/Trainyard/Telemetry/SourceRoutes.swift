import Foundation
import HTTPServer

/// The detail page's metrics-source form, `POST /deployments/{id}/source`.
enum SourceRoutes {
    static func add(to app: TrainyardApp) {
        app.post("/deployments/{id}/source", access: .signedIn(.operator)) { [unowned app] ctx in try setSource(app, ctx) }
    }

    static func setSource(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter(), let d = try DeploymentStore(database: app.database).find(id) else {
            throw HTTPError.notFound(DeploymentRoutes.notFoundMessage)
        }
        let back = ctx.returnPath(fallback: Paths.deployment(id)) + "#source"
        let form = SourceForm(ctx.request.formParameters)
        switch form.validate(allowlist: app.configuration.scrapeAllowlist) {
        case .failure(let errors):
            return app.web.redirect(.failed(errors.summary, redirectTo: back, values: form.values, fieldErrors: errors.byField), ctx)
        case .success(let choice):
            switch try InferenceSourceStore(database: app.database).set(id, to: choice, by: try ctx.requireActor, now: Date()) {
            case .notFound: throw HTTPError.notFound(DeploymentRoutes.notFoundMessage)
            case .deleted: return app.web.redirect(.failed(DeploymentMessages.deleted, redirectTo: back), ctx)
            case .unchanged: return app.web.redirect(.succeeded("\(d.name)'s metrics source is unchanged.", redirectTo: back), ctx)
            case .changed(let cleared):
                return app.web.redirect(.succeeded(message(d.name, choice, cleared: cleared), redirectTo: back), ctx)
            }
        }
    }

    static func message(_ name: String, _ choice: SourceChoice, cleared: Int) -> String {
        let what: String
        switch choice.kind {
        case .simulated: what = "\(name)'s figures are simulated again."
        case .pushed: what = "\(name) now takes figures pushed to POST \(Paths.deploymentsAPI)/…/inference."
        case .scraped: what = "\(name) is scraped from \(choice.targetURL ?? "its target") every \(choice.intervalSeconds ?? SourceForm.defaultInterval) s; the first figures appear after the second scrape."
        }
        return what + (cleared > 0 ? " \(cleared) earlier minutes of the old source were deleted." : "")
    }
}
