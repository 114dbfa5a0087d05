import Foundation
import HTTPServer
import Logging
import Storage
import TemplateEngine

/// The sections of the navigation bar; a page names the one it belongs to.
public enum NavSection: String, CaseIterable, Sendable {
    case dashboard, models, training, deployments, docs, settings, audit

    var label: String {
        switch self {
        case .dashboard: "Dashboard"
        case .models: "Models"
        case .training: "Training"
        case .deployments: "Deployments"
        case .docs: "Docs"
        case .settings: "Settings"
        case .audit: "Audit"
        }
    }

    var path: String {
        switch self {
        case .dashboard: Paths.dashboard
        case .models: Paths.models
        case .training: Paths.jobs
        case .deployments: Paths.deployments
        case .docs: Paths.docs
        case .settings: Paths.tokens
        case .audit: Paths.audit
        }
    }
}

/// Who may use a route.
public enum Access: Sendable, Equatable {
    /// Anyone, signed in or not (sign-in itself, health checks).
    case anyone
    /// A signed-in user with at least this role.
    case signedIn(Role)
}

/// How the web layer finds who is asking; the accounts feature implements it.
protocol Authenticator: AnyObject {
    /// The user of a browser session (`secret` is the session cookie's value), or nil;
    /// `counters`, when read first, let a session checked earlier stand without a lookup.
    func sessionActor(_ secret: String, now: Date, counters: CounterReading?) throws -> Actor?
    /// The owner of an API token, or nil.
    func tokenActor(_ secret: String, now: Date) throws -> Actor?
    /// The user of a user name and password sent with HTTP Basic (MLflow's client does), or nil.
    func passwordActor(username: String, password: String, address: String, now: Date) throws -> Actor?
}

/// Where requests come from: which proxies may say so, and whether cookies must be Secure.
struct ClientPolicy: Sendable {
    /// `--secure-cookies`: the server itself is only reached over TLS.
    var secureCookies = false
    /// Addresses whose `X-Forwarded-Proto` and `X-Forwarded-For` are believed.
    var trustedProxies: Set<String> = []

    /// The peer's address without its port: `127.0.0.1`, `::1`.
    static func host(of remote: String) -> String {
        if remote.hasPrefix("["), let close = remote.firstIndex(of: "]") {
            return String(remote[remote.index(after: remote.startIndex)..<close])
        }
        if let colon = remote.lastIndex(of: ":"), remote.firstIndex(of: ":") == colon { return String(remote[..<colon]) }
        return remote
    }

    /// The client's address: the peer, or behind a trusted proxy the last address in
    /// `X-Forwarded-For` that is not itself a trusted proxy.
    func clientAddress(_ request: HTTPRequest) -> String {
        let peer = Self.host(of: request.remoteAddress)
        guard trustedProxies.contains(peer), let forwarded = request.headers["X-Forwarded-For"] else { return peer }
        let hops = forwarded.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return hops.last { !trustedProxies.contains($0) } ?? peer
    }

    func isSecure(_ request: HTTPRequest) -> Bool {
        if secureCookies { return true }
        let peer = Self.host(of: request.remoteAddress)
        return trustedProxies.contains(peer) && request.headers["X-Forwarded-Proto"]?.lowercased() == "https"
    }
}

/// The web shell every handler goes through: request context (flash, CSRF, who is signed in),
/// access rules, page rendering in the layout, redirects after POST, and the one boundary that
/// turns errors into pages.
public final class WebLayer {
    public typealias Handler = (WebContext) throws -> HTTPResponse

    /// Where database errors are counted (set by the app).
    var metrics: AppMetrics?
    let templates: TemplateLibrary
    let logger: Logger
    private let flashSigner: Signer
    private let sessionSigner: Signer
    private let csrfSigner: Signer
    private let etagSigner: Signer
    let verifiedCookies = VerifiedCookies()
    /// The templates' fingerprint in hex, the first field of every page's tag.
    private let fingerprintHex: [UInt8]
    /// Tags by their message: a page polled or reloaded by the same session while nothing changed
    /// has the same message, and its MAC was a twentieth of the request.
    private let entityTags = BoundedMemo<[UInt8], String>(limit: 10_000)
    /// Reads the change counters a conditional page names (set by the app); nil: no ETags.
    var changeVersion: ((PageVersion) throws -> CounterReading)?
    /// The clock the tags' 10-second steps follow (tests set it).
    var now: () -> Date = { Date() }
    let clients: ClientPolicy
    weak var authenticator: Authenticator?

    static let errorTemplate = "errors/error"
    static let csrfField = "_csrf"
    static let loginPath = "/login"
    static let logoutPath = "/logout"

    init(templates: TemplateLibrary, secret: [UInt8], clients: ClientPolicy = ClientPolicy(), logger: Logger) {
        let root = Signer(secret: secret)
        self.templates = templates
        self.logger = logger
        self.flashSigner = root.derived(purpose: "flash")
        self.sessionSigner = root.derived(purpose: "session")
        self.csrfSigner = root.derived(purpose: "csrf")
        self.etagSigner = root.derived(purpose: "etag")
        self.fingerprintHex = Array(String(templates.fingerprint, radix: 16).utf8)
        self.clients = clients
    }

    /// Cookie names: with `__Host-` when Secure, so no subdomain or plain-HTTP page can set them.
    static func sessionCookie(secure: Bool) -> String { secure ? "__Host-ty_session" : "ty_session" }
    static func flashCookie(secure: Bool) -> String { secure ? "__Host-ty_flash" : Flash.cookieName }

    // MARK: The boundary

    /// Runs `handler` for `request`: builds the context, finds who is signed in, applies
    /// `access` (anonymous → sign-in page or 401; too low a role → 403; nothing runs), refuses
    /// form POSTs without a valid CSRF token, maps thrown errors to pages, and sets the cookies.
    ///
    /// With `version`, a GET carries an `ETag`, and one whose `If-None-Match` still matches is a
    /// `304` without running the handler.
    func handle(_ request: HTTPRequest, access: Access, version: PageVersion? = nil, _ handler: Handler) -> HTTPResponse {
        let ctx = makeContext(for: request)
        var response: HTTPResponse
        var etag: String?
        do {
            if let version { try readCountersFirst(ctx, version) }
            try authenticate(ctx)
            if let refusal = refuse(ctx, access) {
                response = refusal
            } else if let version, let tag = try entityTag(ctx, version) {
                etag = tag
                if let sent = request.headers["If-None-Match"], StaticFiles.matches(sent, etag: tag) {
                    response = HTTPResponse(status: 304)
                } else {
                    response = try handler(ctx)
                }
            } else {
                response = try handler(ctx)
            }
        } catch let error as HTTPError {
            response = errorPage(status: error.status, title: error.title, message: error.message, ctx)
        } catch let error as InvalidInput {
            // A store refused a value a handler should have validated: the user's words, not a 500.
            logger.notice("input refused by a store", metadata: ["field": "\(error.field)", "path": LogText.value(request.path), "request_id": "\(request.requestID)"])
            response = errorPage(status: 422, title: "Not accepted", message: error.message, ctx)
        } catch let error as DatabaseError {
            metrics?.recordDatabaseError(error)
            switch error {
            case .unavailable, .timeout:
                logger.warning("database unavailable", metadata: ["error": LogText.value("\(error)"), "path": LogText.value(request.path), "request_id": "\(request.requestID)"])
                response = errorPage(status: 503, title: "Temporarily unavailable",
                                     message: "The database is not answering right now. Please try again in a few seconds.", ctx)
                response.headers.set("Retry-After", "5")
            default:
                logger.error("database error", metadata: ["error": LogText.value("\(error)"), "path": LogText.value(request.path), "request_id": "\(request.requestID)"])
                response = errorPage(status: 500, title: "Something went wrong",
                                     message: "The request could not be completed. It has been logged.", ctx)
            }
        } catch {
            logger.error("handler error", metadata: ["error": LogText.value("\(error)"), "path": LogText.value(request.path), "request_id": "\(request.requestID)"])
            response = errorPage(status: 500, title: "Something went wrong",
                                 message: "The request could not be completed. It has been logged.", ctx)
        }
        for cookie in ctx.cookiesToSet { response.headers.add("Set-Cookie", cookie) }
        if let etag, response.status == 200 || response.status == 304 {
            // Kept by the browser only, and asked for again each time: the tag makes that a 304.
            response.headers.set("ETag", etag)
            response.headers.set("Cache-Control", ctx.actor != nil ? "private, no-cache" : "no-cache")
        } else if !ctx.cookiesToSet.isEmpty || request.method != "GET" || ctx.actor != nil {
            // Pages for a signed-in user, or carrying a flash or a fresh token, are never replayed from a shared cache.
            response.headers.set("Cache-Control", "no-store")
        } else if response.headers["Cache-Control"] == nil {
            response.headers.set("Cache-Control", "no-cache")
        }
        response.actor = ctx.actor?.username
        return response
    }

    /// The page's tag for this request, or nil when it must not have one: not a GET or HEAD,
    /// a flash to show once, or cookies to set on a page (a new session means a new CSRF token
    /// anyway). JSON has no forms, so its tag leaves the token out and a session cookie set
    /// beside it does not matter.
    private func entityTag(_ ctx: WebContext, _ version: PageVersion) throws -> String? {
        let method = ctx.request.method
        guard method == "GET" || method == "HEAD", ctx.flash == nil, ctx.isAPI || ctx.cookiesToSet.isEmpty, let changeVersion else { return nil }
        let reading = try ctx.counters ?? changeVersion(version)
        ctx.counters = reading
        let counted = reading.sum(of: version.tables)
        let step = Int64((now().timeIntervalSince1970 / PageVersion.clockStep).rounded(.down))
        // A MAC, not a plain hash: the tag says nothing about the CSRF token it covers. The
        // message is written as bytes (every tagged request makes one; as joined strings it
        // was a dozen allocations): fingerprint|counters|step|user\u{1}role\u{1}name|token.
        var message: [UInt8] = []
        message.reserveCapacity(192)
        message.append(contentsOf: fingerprintHex)
        message.append(UInt8(ascii: "|"))
        message.append(contentsOf: String(counted).utf8)
        message.append(UInt8(ascii: "|"))
        message.append(contentsOf: String(step).utf8)
        message.append(UInt8(ascii: "|"))
        if let actor = ctx.actor {
            message.append(contentsOf: actor.username.utf8)
            message.append(1)
            message.append(contentsOf: actor.role.rawValue.utf8)
            message.append(1)
            message.append(contentsOf: actor.displayName.utf8)
        }
        message.append(UInt8(ascii: "|"))
        if !ctx.isAPI { message.append(contentsOf: ctx.csrfToken.utf8) }
        return entityTags.value(for: message) { "W/\"" + Hex.encode(etagSigner.macBytes(message).prefix(16)) + "\"" }
    }

    /// A signed-in page with a tag reads its counters before the session lookup, together with
    /// those of `sessions` and `users`: while those stand, the session checked on an earlier
    /// request is still good (`SessionCache`) and the lookup is skipped. The tag is made from the
    /// page's own counters only.
    private func readCountersFirst(_ ctx: WebContext, _ version: PageVersion) throws {
        let method = ctx.request.method
        guard let changeVersion, authenticator != nil, !ctx.isAPI, !ctx.sessionIsNew, method == "GET" || method == "HEAD" else { return }
        ctx.counters = try changeVersion(PageVersion(tables: version.tables + Self.sessionTables))
    }

    static let sessionTables = [ChangeCounters.Table.sessions.rawValue, ChangeCounters.Table.users.rawValue]

    private func makeContext(for request: HTTPRequest) -> WebContext {
        let secure = clients.isSecure(request)
        let cookies = Cookies.parse(request.headers["Cookie"])
        var flash: Flash?
        var clearFlash = false
        if let raw = cookies[Self.flashCookie(secure: secure)], !raw.isEmpty {
            flash = Flash.decode(raw, with: flashSigner)   // nil when tampered: ignored
            clearFlash = true
        }
        var newSession: String?
        let session: String
        let csrfToken: String
        if let raw = cookies[Self.sessionCookie(secure: secure)], let known = verifiedCookies.verified(raw, else: { verifySession(raw) }) {
            (session, csrfToken) = (known.session, known.csrfToken)
        } else {
            (session, newSession) = newSessionSecret()
            csrfToken = csrfSigner.mac(session)
        }
        // HEAD and API requests still get a token; only the page decides whether to show a form.
        let ctx = WebContext(request: request, flash: flash, session: session, csrfToken: csrfToken,
                             clientAddress: clients.clientAddress(request), isSecure: secure)
        ctx.sessionCookieName = Self.sessionCookie(secure: secure)
        if clearFlash { ctx.cookiesToSet.append(Cookies.clear(Self.flashCookie(secure: secure), secure: secure)) }
        if let newSession { ctx.cookiesToSet.append(Cookies.set(ctx.sessionCookieName, newSession, secure: secure)) }
        return ctx
    }

    static let sessionBytes = 32

    /// The session secret a signed cookie carries and its CSRF token, or nil when the signature
    /// does not match.
    private func verifySession(_ cookie: String) -> VerifiedCookies.Verified? {
        guard let id = sessionSigner.verify(cookie), id.count == Self.sessionBytes else { return nil }
        let session = Base64URL.encode(id)
        return VerifiedCookies.Verified(session: session, csrfToken: csrfSigner.mac(session))
    }

    /// A fresh random session secret and its signed cookie value.
    private func newSessionSecret() -> (secret: String, cookie: String) {
        let id = Signer.randomBytes(Self.sessionBytes)
        return (Base64URL.encode(id), sessionSigner.sign(id))
    }

    /// Gives the browser a new session secret (at sign-in and sign-out, so a secret seen
    /// before signing in is worth nothing after) and returns it.
    func rotateSession(_ ctx: WebContext) -> String {
        let (secret, cookie) = newSessionSecret()
        ctx.cookiesToSet.removeAll { $0.hasPrefix(ctx.sessionCookieName + "=") }
        ctx.cookiesToSet.append(Cookies.set(ctx.sessionCookieName, cookie, secure: ctx.isSecure))
        return secret
    }

    /// Scripts authenticate with `Authorization: Bearer <token>` on `/api/`, or with
    /// `Basic <user:password>` (what MLflow's client sends for MLFLOW_TRACKING_USERNAME);
    /// browsers with the session cookie (on `/api/` only for reads, since a cookie is sent by
    /// any page).
    private func authenticate(_ ctx: WebContext) throws {
        guard let authenticator else { return }
        let now = Date()
        if ctx.isAPI, let header = ctx.request.headers["Authorization"] {
            let parts = header.split(separator: " ", maxSplits: 1)
            let scheme = parts.first.map { $0.lowercased() } ?? ""
            ctx.credentialScheme = scheme
            let credential = parts.count == 2 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : ""
            if scheme == "bearer" {
                ctx.actor = try authenticator.tokenActor(credential, now: now)
            } else if scheme == "basic", let decoded = Data(base64Encoded: credential).flatMap({ String(data: $0, encoding: .utf8) }),
                      let colon = decoded.firstIndex(of: ":") {
                ctx.actor = try authenticator.passwordActor(username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]),
                                                            address: ctx.clientAddress, now: now)
            }
        } else if !ctx.sessionIsNew && (!ctx.isAPI || ctx.request.method == "GET" || ctx.request.method == "HEAD") {
            ctx.actor = try authenticator.sessionActor(ctx.session, now: now, counters: ctx.counters)
        }
        ctx.actor?.clientAddress = ctx.clientAddress
    }

    /// The response that refuses the request under `access`, or nil to run the handler.
    private func refuse(_ ctx: WebContext, _ access: Access) -> HTTPResponse? {
        let request = ctx.request
        let isForm = request.method == "POST" && !ctx.isAPI
        if isForm, let problem = Self.malformedForm(request) {
            return errorPage(status: 400, title: "Form not accepted", message: problem + " Nothing was changed.", ctx)
        }
        if case .signedIn(let role) = access {
            guard let actor = ctx.actor else {
                if ctx.isAPI {
                    let message = switch ctx.credentialScheme {
                    case "bearer"?: "The token is not valid: it is unknown, revoked or expired."
                    case "basic"?: "The user name or password is not right, the account is disabled, or it has had too many failed attempts."
                    default: "Authentication required: send Authorization: Bearer <token> (or Basic with a user name and password)."
                    }
                    var response = JSON.error(message, status: 401)
                    response.headers.set("WWW-Authenticate", "Bearer realm=\"trainyard\", Basic realm=\"trainyard\"")
                    return response
                }
                if isForm {
                    return redirect(.failed("Sign in to continue; nothing was changed.", redirectTo: Self.loginPath), ctx)
                }
                return .redirect(to: Paths.with(Self.loginPath, [("next", request.target)]), status: 303)
            }
            if isForm && !csrfIsValid(ctx) { return formExpired(ctx) }
            guard actor.may(role) else {
                return errorPage(status: 403, title: "Not allowed",
                                 message: "This needs \(role.withArticle) role; you are signed in as \(actor.username), \(actor.role.withArticle). Nothing was changed.",
                                 ctx)
            }
            return nil
        }
        if isForm && !csrfIsValid(ctx) { return formExpired(ctx) }
        return nil
    }

    /// What makes a form body unusable as it stands: bytes that are not UTF-8 text (a browser
    /// never sends them), or a field sent twice (no form here has one, and taking either value
    /// would be a guess — `_csrf` twice must not let a forged token through beside a real one).
    static func malformedForm(_ request: HTTPRequest) -> String? {
        let form = request.formParameters
        if form.hasInvalidUTF8 { return "The form sent bytes that are not UTF-8 text." }
        if let name = form.firstRepeatedName {
            return "The form sent the field “\(LogText.escaped(name, limit: 40))” more than once."
        }
        return nil
    }

    private func formExpired(_ ctx: WebContext) -> HTTPResponse {
        errorPage(status: 403, title: "Form expired",
                  message: "This form was not accepted because its security token is missing or out of date. Go back, reload the page and try again.",
                  ctx)
    }

    private func csrfIsValid(_ ctx: WebContext) -> Bool {
        let request = ctx.request
        // A browser that says the form came from another site is refused even with a token.
        if let site = request.headers["Sec-Fetch-Site"], site == "cross-site" { return false }
        // The session must be the one the browser came with, not one made up for this request.
        guard !ctx.sessionIsNew, let sent = request.formParameters[Self.csrfField] else { return false }
        return constantTimeEquals(sent, ctx.csrfToken)
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
        if let actor = ctx.actor {
            root["currentUser"] = ["name": .string(actor.displayName), "username": .string(actor.username),
                                   "role": .string(actor.role.label)]
            root["canOperate"] = .bool(actor.may(.operator))
            root["isAdmin"] = .bool(actor.may(.admin))
            root["settingsCurrent"] = .bool(section == .settings)
            root["logoutAction"] = .string(Self.logoutPath)
            // The main sections; settings sit with the user's name.
            root["nav"] = .list(NavSection.allCases.filter { $0 != .settings }.map { item in
                ["label": .string(item.label), "href": .string(item.path), "current": .bool(item == section)]
            })
        }
        if let flash = ctx.flash {
            root["flash"] = [
                "message": .string(flash.message),
                "kind": .string(flash.kind.rawValue),
                "isError": .bool(flash.kind == .error),
                "isSuccess": .bool(flash.kind == .success),
                "link": flash.linkHref.map { ["label": .string(flash.linkLabel ?? $0), "href": .string($0)] } ?? .null,
            ]
        }
        let html = try templates.renderBytes(template, .object(root))
        return HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "text/html; charset=utf-8")]), body: html)
    }

    /// `303 See Other` to `location` (same-site paths only) with the flash set for the next page.
    public func redirect(_ outcome: ActionOutcome, _ ctx: WebContext) -> HTTPResponse {
        let name = Self.flashCookie(secure: ctx.isSecure)
        ctx.cookiesToSet.removeAll { $0.hasPrefix(name + "=") }
        ctx.cookiesToSet.append(Cookies.set(name, outcome.flash.encoded(with: flashSigner), secure: ctx.isSecure))
        return .redirect(to: SafeRedirect.path(outcome.location, fallback: Paths.dashboard), status: 303)
    }

    /// An error page in the layout; falls back to plain text if even the template fails.
    /// Under `/api/` the error is JSON (`{"error": "…"}`) so scripts can read it.
    public func errorPage(status: Int, title: String, message: String, _ ctx: WebContext) -> HTTPResponse {
        if ctx.isAPI {
            return JSON.error(message, status: status)
        }
        do {
            return try page(Self.errorTemplate, title: title, section: nil,
                            ["status": .int(status), "heading": .string(title), "message": .string(message),
                             "request_id": .string(ctx.request.requestID)], ctx, status: status)
        } catch {
            logger.error("error page failed to render", metadata: ["error": "\(error)"])
            return .text("\(status) \(title)\n", status: status)
        }
    }
}
