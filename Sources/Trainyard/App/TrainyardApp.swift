import Foundation
import HTTPServer
import Logging
import Storage
import TemplateEngine

/// The application: every route, behind one boundary that adds the security headers.
///
/// The app knows the `Database` protocol only; the CLI picks the driver.
public final class TrainyardApp: HTTPResponder {
    public let configuration: AppConfiguration
    public let database: Database
    let web: WebLayer
    let logger: Logger
    let router = Router()
    let staticFiles: StaticFiles
    let docs: DocsLibrary
    let openAPI: OpenAPIDocument
    let chartCache = MetricChartCache()
    /// Per-status counts kept while their counters stand (see `CountsCache`).
    let deploymentCounts = CountsCache<DeploymentStatus>()
    let jobCounts = CountsCache<JobStatus>()
    let authenticator: SessionAuthenticator
    /// Requests, database errors and scrapes counted for the metrics page.
    public let metrics = AppMetrics()
    /// Every route with who may use it, in the order added (tests enumerate it).
    public private(set) var routeTable: [RouteInfo] = []

    /// Loads and checks every template (a broken one fails here, at boot) and wires the routes.
    public init(configuration: AppConfiguration, database: Database, secret: [UInt8], logger: Logger) throws {
        self.configuration = configuration
        self.database = database
        self.logger = logger
        let templates = try TemplateLibrary(directory: configuration.templatesDirectory)
        for required in Self.requiredTemplates where !templates.contains(required) {
            throw AppConfiguration.Invalid(description: "template '\(required)' is missing from \(configuration.templatesDirectory)")
        }
        self.web = WebLayer(templates: templates, secret: secret,
                            clients: ClientPolicy(secureCookies: configuration.secureCookies, trustedProxies: Set(configuration.trustedProxies)),
                            logger: logger)
        self.authenticator = SessionAuthenticator(accounts: AccountStore(database: database), configuration: configuration)
        web.authenticator = authenticator
        web.metrics = metrics
        let counters = ChangeCounters(database: database)
        web.changeVersion = { try counters.reading(of: $0.tables) }
        self.staticFiles = StaticFiles(root: configuration.publicDirectory, urlPrefix: "/static/")
        self.docs = try DocsLibrary(directory: configuration.docsDirectory)
        self.openAPI = try OpenAPIDocument(directory: configuration.docsDirectory)
        addRoutes()
    }

    /// Every page the app renders; their templates must exist, or the boot fails.
    static let pages: [any PageView.Type] = [
        LoginView.self, UsersView.self, TokensView.self, AuditView.self,
        DashboardView.self, ModelListView.self, ModelView.self, ModelFormView.self, ConfigureJobView.self, JobListView.self, JobMonitorView.self,
        DeploymentListView.self, DeployFormView.self, DeploymentDetailView.self, DocsIndexView.self, DocsPageView.self,
    ]

    static var requiredTemplates: [String] { ["layout", WebLayer.errorTemplate] + pages.map { $0.template } }


    public func respond(to request: HTTPRequest) throws -> HTTPResponse {
        let started = DispatchTime.now().uptimeNanoseconds
        var response: HTTPResponse
        do {
            response = try router.respond(to: request)
        } catch {
            logger.error("unhandled error", metadata: ["error": LogText.value("\(error)"), "path": LogText.value(request.path), "request_id": "\(request.requestID)"])
            response = .text("500 Internal Server Error\n", status: 500)
        }
        SecurityHeaders.apply(to: &response)
        metrics.record(method: request.method, route: response.route, status: response.status,
                       seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        return response
    }

    /// Health checks are answered on the server's event loop; they touch nothing that blocks.
    public func respondWithoutBlocking(to request: HTTPRequest) -> HTTPResponse? {
        let started = DispatchTime.now().uptimeNanoseconds
        guard var response = router.respondWithoutBlocking(to: request) else { return nil }
        SecurityHeaders.apply(to: &response)
        metrics.record(method: request.method, route: response.route, status: response.status,
                       seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        return response
    }

    /// A route and who may use it.
    public struct RouteInfo: Sendable {
        public var method: String
        public var pattern: String
        public var access: Access
    }

    /// Registers a page; every handler runs inside the web boundary. Pages need a signed-in
    /// user unless `access` says otherwise.
    /// With `version`, the page has an `ETag` from the change counters it names (see `PageVersion`).
    func get(_ pattern: String, access: Access = .signedIn(.viewer), version: PageVersion? = nil, _ handler: @escaping WebLayer.Handler) {
        routeTable.append(RouteInfo(method: "GET", pattern: pattern, access: access))
        router.get(pattern) { [unowned self] request in self.web.handle(request, access: access, version: version, handler) }
    }

    /// Registers an action. Who may press it is part of the route, never left to the handler.
    func post(_ pattern: String, access: Access, _ handler: @escaping WebLayer.Handler) {
        routeTable.append(RouteInfo(method: "POST", pattern: pattern, access: access))
        router.post(pattern) { [unowned self] request in self.web.handle(request, access: access, handler) }
    }

    /// Registers a `DELETE` for the JSON API (pages delete with a form POST). Browsers cannot
    /// send it with a cookie that the web layer accepts, so only Bearer tokens reach it.
    func delete(_ pattern: String, access: Access, _ handler: @escaping WebLayer.Handler) {
        routeTable.append(RouteInfo(method: "DELETE", pattern: pattern, access: access))
        router.add("DELETE", pattern) { [unowned self] request in self.web.handle(request, access: access, handler) }
    }

    /// Registers a `PUT` for the JSON API (replacing a setting whole), Bearer tokens only as `delete`.
    func put(_ pattern: String, access: Access, _ handler: @escaping WebLayer.Handler) {
        routeTable.append(RouteInfo(method: "PUT", pattern: pattern, access: access))
        router.add("PUT", pattern) { [unowned self] request in self.web.handle(request, access: access, handler) }
    }
}
