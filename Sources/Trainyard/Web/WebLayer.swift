import Foundation
import HTTPServer
import Logging
import Storage
import TemplateEngine

/// The sections of the navigation bar; a page names the one it belongs to.
public enum NavSection: String, CaseIterable, Sendable {
    case dashboard, models, training, deployments, docs

    var label: String {
        switch self {
        case .dashboard: "Dashboard"
        case .models: "Models"
        case .training: "Training"
        case .deployments: "Deployments"
        case .docs: "Docs"
        }
    }

    var path: String {
        switch self {
        case .dashboard: Paths.dashboard
        case .models: Paths.models
        case .training: Paths.jobs
        case .deployments: Paths.deployments
        case .docs: Paths.docs
        }
    }
}

/// The web shell every handler goes through: request context (flash, CSRF), page rendering in
/// the layout, redirects after POST, and the one boundary that turns errors into pages.
public final class WebLayer {
    public typealias Handler = (WebContext) throws -> HTTPResponse

    let templates: TemplateLibrary
    let logger: Logger
    private let flashSigner: Signer
    private let sessionSigner: Signer
    private let csrfSigner: Signer
    private let secureCookies: Bool

    static let sessionCookie = "ty_session"
    static let errorTemplate = "errors/error"
    static let csrfField = "_csrf"

    public init(templates: TemplateLibrary, secret: [UInt8], secureCookies: Bool = false, logger: Logger) {
        let root = Signer(secret: secret)
        self.templates = templates
        self.logger = logger
        self.flashSigner = root.derived(purpose: "flash")
        self.sessionSigner = root.derived(purpose: "session")
        self.csrfSigner = root.derived(purpose: "csrf")
        self.secureCookies = secureCookies
    }

    // MARK: The boundary

    /// Runs `handler` for `request`: builds the context, refuses POSTs without a valid CSRF
    /// token (403, nothing runs), maps thrown errors to pages, and sets the cookies.
    public func handle(_ request: HTTPRequest, _ handler: Handler) -> HTTPResponse {
        let ctx = makeContext(for: request)
        var response: HTTPResponse
        if request.method == "POST" && !csrfIsValid(request) {
            response = errorPage(status: 403, title: "Form expired",
                                 message: "This form was not accepted because its security token is missing or out of date. Go back, reload the page and try again.",
                                 ctx)
        } else {
            do {
                response = try handler(ctx)
            } catch let error as HTTPError {
                response = errorPage(status: error.status, title: error.title, message: error.message, ctx)
            } catch let error as InvalidInput {
                // A store refused a value a handler should have validated: the user's words, not a 500.
                logger.notice("input refused by a store", metadata: ["field": "\(error.field)", "path": "\(request.path)"])
                response = errorPage(status: 422, title: "Not accepted", message: error.message, ctx)
            } catch let error as DatabaseError {
                switch error {
                case .unavailable, .timeout:
                    logger.warning("database unavailable", metadata: ["error": "\(error)", "path": "\(request.path)"])
                    response = errorPage(status: 503, title: "Temporarily unavailable",
                                         message: "The database is not answering right now. Please try again in a few seconds.", ctx)
                    response.headers.set("Retry-After", "5")
                default:
                    logger.error("database error", metadata: ["error": "\(error)", "path": "\(request.path)"])
                    response = errorPage(status: 500, title: "Something went wrong",
                                         message: "The request could not be completed. It has been logged.", ctx)
                }
            } catch {
                logger.error("handler error", metadata: ["error": "\(error)", "path": "\(request.path)"])
                response = errorPage(status: 500, title: "Something went wrong",
                                     message: "The request could not be completed. It has been logged.", ctx)
            }
        }
        for cookie in ctx.cookiesToSet { response.headers.add("Set-Cookie", cookie) }
        if !ctx.cookiesToSet.isEmpty || request.method != "GET" {
            // Pages carrying a flash or a fresh token must not be replayed from a shared cache.
            response.headers.set("Cache-Control", "no-store")
        } else if response.headers["Cache-Control"] == nil {
            response.headers.set("Cache-Control", "no-cache")
        }
        return response
    }

    private func makeContext(for request: HTTPRequest) -> WebContext {
        let cookies = Cookies.parse(request.headers["Cookie"])
        var flash: Flash?
        var clearFlash = false
        if let raw = cookies[Flash.cookieName], !raw.isEmpty {
            flash = Flash.decode(raw, with: flashSigner)   // nil when tampered: ignored
            clearFlash = true
        }
        var newSession: String?
        let session: String
        if let raw = cookies[Self.sessionCookie], let id = sessionSigner.verify(raw), id.count == 24 {
            session = Base64URL.encode(id)
        } else {
            var generator = SystemRandomNumberGenerator()
            let id = (0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }
            session = Base64URL.encode(id)
            newSession = sessionSigner.sign(id)
        }
        // HEAD and API requests still get a token; only the page decides whether to show a form.
        let ctx = WebContext(request: request, flash: flash, csrfToken: csrfSigner.mac(session))
        if clearFlash { ctx.cookiesToSet.append(Cookies.clear(Flash.cookieName, secure: secureCookies)) }
        if let newSession { ctx.cookiesToSet.append(Cookies.set(Self.sessionCookie, newSession, secure: secureCookies)) }
        return ctx
    }

    private func csrfIsValid(_ request: HTTPRequest) -> Bool {
        let cookies = Cookies.parse(request.headers["Cookie"])
        guard let raw = cookies[Self.sessionCookie], let id = sessionSigner.verify(raw), id.count == 24,
              let sent = request.formParameters[Self.csrfField] else { return false }
        // A browser that says the form came from another site is refused even with a token.
        if let site = request.headers["Sec-Fetch-Site"], site == "cross-site" { return false }
        return constantTimeEquals(sent, csrfSigner.mac(Base64URL.encode(id)))
    }

    // MARK: Responses

    /// Renders a page's view model inside the layout.
    func render<View: PageView>(_ view: View, _ ctx: WebContext, status: Int = 200) throws -> HTTPResponse {
        try page(View.template, title: view.title, section: view.section, view.members(), ctx, status: status)
    }

    /// Renders `template` inside the layout with the shared page data (nav, flash, CSRF token).
    func page(_ template: String, title: String, section: NavSection?, _ data: [String: TemplateValue],
                     _ ctx: WebContext, status: Int = 200) throws -> HTTPResponse {
        var root = data
        root["title"] = .string(title)
        root["csrf"] = .string(ctx.csrfToken)
        root["nav"] = .list(NavSection.allCases.map { item in
            ["label": .string(item.label), "href": .string(item.path), "current": .bool(item == section)]
        })
        if let flash = ctx.flash {
            root["flash"] = [
                "message": .string(flash.message),
                "kind": .string(flash.kind.rawValue),
                "isError": .bool(flash.kind == .error),
                "isSuccess": .bool(flash.kind == .success),
            ]
        }
        let html = try templates.render(template, .object(root))
        return .html(html, status: status)
    }

    /// `303 See Other` to `location` (same-site paths only) with the flash set for the next page.
    public func redirect(_ outcome: ActionOutcome, _ ctx: WebContext) -> HTTPResponse {
        ctx.cookiesToSet.removeAll { $0.hasPrefix(Flash.cookieName + "=") }
        ctx.cookiesToSet.append(Cookies.set(Flash.cookieName, outcome.flash.encoded(with: flashSigner), secure: secureCookies))
        return .redirect(to: SafeRedirect.path(outcome.location, fallback: Paths.dashboard), status: 303)
    }

    /// An error page in the layout; falls back to plain text if even the template fails.
    /// Under `/api/` the error is JSON (`{"error": "…"}`) so scripts can read it.
    public func errorPage(status: Int, title: String, message: String, _ ctx: WebContext) -> HTTPResponse {
        if ctx.request.path.hasPrefix("/api/") {
            return JSON.error(message, status: status)
        }
        do {
            return try page(Self.errorTemplate, title: title, section: nil,
                            ["status": .int(status), "heading": .string(title), "message": .string(message)], ctx, status: status)
        } catch {
            logger.error("error page failed to render", metadata: ["error": "\(error)"])
            return .text("\(status) \(title)\n", status: status)
        }
    }
}
