import Foundation
import HTTPServer
import TemplateEngine

/// `/settings/users` (admins): create users, change roles, disable and enable, reset passwords.
/// The last enabled admin can be neither demoted nor disabled.
extension AccountRoutes {
    static let userFields = ["username", "display_name", "role", "password"]

    static func listUsers(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let typed = ctx.formValues(userFields.filter { $0 != "password" }, defaults: ["username": "", "display_name": "", "role": Role.viewer.rawValue])
        return try app.web.render(UsersView(users: try accounts(app).users(), actor: try ctx.requireActor, typed: typed, ctx: ctx, now: Date()), ctx)
    }

    static func createUser(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let actor = try ctx.requireActor
        let form = ctx.request.formParameters.values(of: userFields)
        let username = form["username"]!.trimmingCharacters(in: .whitespaces).lowercased()
        let displayName = form["display_name"]!.trimmingCharacters(in: .whitespacesAndNewlines)
        var errors = FieldErrors()
        if !AccountRules.isValidUsername(username) { errors["username"] = AccountRules.usernameMessage }
        if !AccountRules.displayName.accepts(displayName) { errors["display_name"] = AccountRules.displayName.message }
        let role = Role(rawValue: form["role"]!)
        if role == nil { errors["role"] = "Choose a role from the list." }
        if !AccountRules.isValidPassword(form["password"]!) { errors["password"] = AccountRules.passwordMessage }
        // The password is never carried back into the form.
        let kept = ["username": username, "display_name": displayName, "role": form["role"]!]
        guard errors.isEmpty, let role else {
            return app.web.redirect(.failed(errors.summary, redirectTo: Paths.users, values: kept, fieldErrors: errors.byField), ctx)
        }
        switch try accounts(app).createUser(username: username, displayName: displayName, role: role, password: form["password"]!,
                                            by: actor, now: Date()) {
        case .nameTaken:
            return app.web.redirect(.failed("The user name \(username) is taken.", redirectTo: Paths.users, values: kept,
                                            fieldErrors: ["username": "This user name is taken; choose another."]), ctx)
        case .created(let user):
            return app.web.redirect(.succeeded("User \(user.username) created as \(user.role.withArticle).", redirectTo: Paths.users), ctx)
        }
    }

    static func changeRole(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter() else { throw HTTPError.notFound("There is no such user.") }
        guard let role = Role(rawValue: ctx.request.formParameters["role"] ?? "") else {
            return app.web.redirect(.failed("Choose a role from the list.", redirectTo: Paths.users), ctx)
        }
        return try userOutcome(app, ctx, try accounts(app).setRole(id, to: role, by: try ctx.requireActor, now: Date())) { user in
            "\(user.username) is now \(role.withArticle)."
        }
    }

    static func setDisabled(_ app: TrainyardApp, _ ctx: WebContext, _ disabled: Bool) throws -> HTTPResponse {
        guard let id = ctx.idParameter() else { throw HTTPError.notFound("There is no such user.") }
        return try userOutcome(app, ctx, try accounts(app).setDisabled(id, disabled, by: try ctx.requireActor, now: Date())) { user in
            disabled ? "\(user.username) is disabled and signed out everywhere." : "\(user.username) is enabled."
        }
    }

    static func resetPassword(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter() else { throw HTTPError.notFound("There is no such user.") }
        let password = ctx.request.formParameters["password"] ?? ""
        guard AccountRules.isValidPassword(password) else {
            return app.web.redirect(.failed(AccountRules.passwordMessage, redirectTo: Paths.users), ctx)
        }
        let actor = try ctx.requireActor
        // Resetting your own password keeps this session; every other one ends.
        let keep = actor.userID == id ? ctx.session : nil
        return try userOutcome(app, ctx, try accounts(app).setPassword(id, to: password, keeping: keep, by: actor, now: Date())) { user in
            "The password of \(user.username) is changed; their other sessions have ended."
        }
    }

    private static func userOutcome(_ app: TrainyardApp, _ ctx: WebContext, _ result: AccountStore.UserChange,
                                    _ message: (User) -> String) throws -> HTTPResponse {
        switch result {
        case .notFound: throw HTTPError.notFound("There is no such user.")
        case .lastAdmin:
            return app.web.redirect(.failed("That would leave no enabled admin; make another user an admin first.", redirectTo: Paths.users), ctx)
        case .unchanged(let user):
            return app.web.redirect(ActionOutcome(location: Paths.users, flash: Flash(.info, "Nothing to change for \(user.username)."
            )), ctx)
        case .changed(let user):
            return app.web.redirect(.succeeded(message(user), redirectTo: Paths.users), ctx)
        }
    }
}

struct UsersView: PageView {
    static let template = "accounts/users"
    let title = "Users"
    let section: NavSection? = .settings

    var users: [User]
    var actor: Actor
    var typed: [String: String]
    var fields: [String: FormField]
    var now: Date

    init(users: [User], actor: Actor, typed: [String: String], ctx: WebContext, now: Date) {
        self.users = users
        self.actor = actor
        self.typed = typed
        self.now = now
        var fields: [String: FormField] = [:]
        for name in AccountRoutes.userFields {
            fields[name] = FormField(name, prefix: "user", value: name == "password" ? "" : typed[name] ?? "", ctx)
        }
        self.fields = fields
    }

    func members() -> [String: TemplateValue] {
        [
            "users": .list(users.map { u in
                let base = Paths.user(u.id)
                return [
                    "id": .int(u.id), "username": .string(u.username), "displayName": .string(u.displayName),
                    "role": .string(u.role.label), "disabled": .bool(u.disabled), "isYou": .bool(u.id == actor.userID),
                    "created": Format.timestamp(u.createdAt, now: now),
                    "roleAction": .string(base + "/role"), "disableAction": .string(base + "/disable"),
                    "enableAction": .string(base + "/enable"), "passwordAction": .string(base + "/password"),
                    "roleOptions": .list(Role.allCases.map { r in
                        ["value": .string(r.rawValue), "label": .string(r.label), "selected": .bool(r == u.role)]
                    }),
                ]
            }),
            "action": .string(Paths.users),
            "username": fields["username"].templateValue, "displayName": fields["display_name"].templateValue,
            "role": fields["role"].templateValue, "password": fields["password"].templateValue,
            "roles": .list(Role.allCases.map { r in
                ["value": .string(r.rawValue), "label": .string(r.label), "selected": .bool(r.rawValue == typed["role"])]
            }),
            "passwordMin": .int(AccountRules.passwordMinCharacters),
        ]
    }
}
