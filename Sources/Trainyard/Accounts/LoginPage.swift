import Foundation
import HTTPServer
import TemplateEngine

/// `GET/POST /login`, `POST /logout`. Sign-in is throttled per user name and per client
/// address, and a wrong user name costs the same argon2 check as a wrong password.
extension AccountRoutes {
    /// After this many failures in `throttleWindow` for one user name or one address, sign-in
    /// waits until the oldest of them is older than the window.
    static let throttleLimit = 5
    static let throttleWindow: TimeInterval = 15 * 60
    static let wrongCredentials = "The user name or password is not right."

    /// Where to go after signing in: a same-site path, never the sign-in page itself.
    static func nextPath(_ raw: String?) -> String {
        let next = SafeRedirect.path(raw, fallback: Paths.dashboard)
        return next.hasPrefix(Paths.login) ? Paths.dashboard : next
    }

    static func showLogin(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let next = nextPath(ctx.request.query["next"])
        if ctx.actor != nil { return .redirect(to: next, status: 303) }
        return try app.web.render(LoginView(username: ctx.typedValue("username") ?? "", next: next), ctx)
    }

    static func signIn(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let form = ctx.request.formParameters
        let username = (form["username"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let password = form["password"] ?? ""
        let next = nextPath(form["next"])
        let back = Paths.with(Paths.login, next == Paths.dashboard ? [] : [("next", next)])
        let accounts = accounts(app)
        let now = Date()
        let keys = ["user:" + String(username.prefix(64)), "addr:" + ctx.clientAddress]

        let recent = try accounts.failures(keys, since: now.addingTimeInterval(-throttleWindow))
        if recent.count >= throttleLimit {
            let freeAt = (recent.oldest ?? now).addingTimeInterval(throttleWindow)
            let minutes = max(1, Int((freeAt.timeIntervalSince(now) / 60).rounded(.up)))
            return app.web.redirect(.failed("Too many failed sign-ins for this user name or from this address. Try again in \(minutes) minute\(minutes == 1 ? "" : "s").",
                                            redirectTo: back, values: ["username": username]), ctx)
        }
        guard password.utf8.count <= AccountRules.passwordMaxBytes else {
            return app.web.redirect(.failed(wrongCredentials, redirectTo: back, values: ["username": username]), ctx)
        }
        let found = AccountRules.isValidUsername(username) ? try accounts.credentials(username) : nil
        // The same argon2 work whether or not the user exists.
        let matches = PasswordHasher.verify(password, against: found?.hash ?? PasswordHasher.decoy)
        guard matches, let user = found?.user else {
            try accounts.recordFailure(keys, attempted: username, address: ctx.clientAddress,
                                       forgetBefore: now.addingTimeInterval(-4 * throttleWindow), now: now)
            return app.web.redirect(.failed(wrongCredentials, redirectTo: back, values: ["username": username]), ctx)
        }
        guard !user.disabled else {
            return app.web.redirect(.failed("This account is disabled. Ask an admin to enable it.", redirectTo: back,
                                            values: ["username": username]), ctx)
        }
        // A new session secret: whatever was known of the old one is worth nothing now.
        let secret = app.web.rotateSession(ctx)
        try accounts.startSession(secret, for: user, replacing: ctx.session, lifetime: app.configuration.sessionLifetime,
                                  address: ctx.clientAddress, now: now)
        return app.web.redirect(.succeeded("Signed in as \(user.shownName).", redirectTo: next), ctx)
    }

    static func signOut(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        if let actor = ctx.actor, let id = actor.userID, let user = try accounts(app).user(id: id) {
            try accounts(app).endSession(ctx.session, user: user, address: ctx.clientAddress, now: Date())
        }
        _ = app.web.rotateSession(ctx)
        return app.web.redirect(ActionOutcome(location: Paths.login, flash: Flash(.info, "Signed out.")), ctx)
    }
}

struct LoginView: PageView {
    static let template = "accounts/login"
    let title = "Sign in"
    let section: NavSection? = nil

    var username: String
    var next: String

    func members() -> [String: TemplateValue] {
        ["action": .string(Paths.login), "username": .string(username), "next": .string(next)]
    }
}
