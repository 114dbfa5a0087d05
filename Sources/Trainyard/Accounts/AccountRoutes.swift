import Foundation
import HTTPServer

/// Sign-in and sign-out, API tokens, and (for admins) users.
enum AccountRoutes {
    static func add(to app: TrainyardApp) {
        app.get("/login", access: .anyone) { [unowned app] ctx in try showLogin(app, ctx) }
        app.post("/login", access: .anyone) { [unowned app] ctx in try signIn(app, ctx) }
        app.post("/logout", access: .anyone) { [unowned app] ctx in try signOut(app, ctx) }

        app.get("/settings/tokens") { [unowned app] ctx in try listTokens(app, ctx) }
        app.post("/settings/tokens", access: .signedIn(.viewer)) { [unowned app] ctx in try createToken(app, ctx) }
        app.post("/settings/tokens/{id}/revoke", access: .signedIn(.viewer)) { [unowned app] ctx in try revokeToken(app, ctx) }

        app.get("/settings/users", access: .signedIn(.admin)) { [unowned app] ctx in try listUsers(app, ctx) }
        app.post("/settings/users", access: .signedIn(.admin)) { [unowned app] ctx in try createUser(app, ctx) }
        app.post("/settings/users/{id}/role", access: .signedIn(.admin)) { [unowned app] ctx in try changeRole(app, ctx) }
        app.post("/settings/users/{id}/disable", access: .signedIn(.admin)) { [unowned app] ctx in try setDisabled(app, ctx, true) }
        app.post("/settings/users/{id}/enable", access: .signedIn(.admin)) { [unowned app] ctx in try setDisabled(app, ctx, false) }
        app.post("/settings/users/{id}/password", access: .signedIn(.admin)) { [unowned app] ctx in try resetPassword(app, ctx) }
        app.get("/settings") { _ in .redirect(to: Paths.tokens, status: 303) }
    }

    static func accounts(_ app: TrainyardApp) -> AccountStore { AccountStore(database: app.database) }
}

extension Paths {
    static let login = "/login"
    static let tokens = "/settings/tokens"
    static let users = "/settings/users"
    static let audit = "/audit"
    static func user(_ id: Int) -> String { "/settings/users/\(id)" }
}
