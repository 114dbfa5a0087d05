import Foundation
import HTTPServer
import TemplateEngine

/// `/settings/tokens`: personal API tokens. Everyone manages their own; admins see and revoke
/// every token. A new token's secret is shown once, on the page the creation redirects to.
extension AccountRoutes {
    /// Lifetimes offered on the form, in days; 0 means no expiry.
    static let tokenLifetimes = [7, 30, 90, 365, 0]

    static func listTokens(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let actor = try ctx.requireActor
        let tokens = try accounts(app).tokens(of: actor.may(.admin) ? nil : actor.userID)
        return try app.web.render(TokensView(tokens: tokens, actor: actor, newSecret: ctx.typedValue("new_token"),
                                             typedName: ctx.typedValue("name") ?? "", typedDays: ctx.typedValue("expires_in_days") ?? "90",
                                             nameError: ctx.fieldError("name"), now: Date()), ctx)
    }

    static func createToken(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let actor = try ctx.requireActor
        let form = ctx.request.formParameters
        let name = (form["name"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let daysText = form["expires_in_days"] ?? ""
        let values = ["name": name, "expires_in_days": daysText]
        guard !name.isEmpty, AccountRules.tokenName.accepts(name) else {
            return app.web.redirect(.failed(AccountRules.tokenName.message, redirectTo: Paths.tokens, values: values,
                                            fieldErrors: ["name": AccountRules.tokenName.message]), ctx)
        }
        guard let days = Int(daysText), tokenLifetimes.contains(days) else {
            return app.web.redirect(.failed("Choose how long the token lasts from the list.", redirectTo: Paths.tokens, values: values), ctx)
        }
        guard let id = actor.userID, let owner = try accounts(app).user(id: id) else { throw HTTPError.notFound() }
        let now = Date()
        let (secret, _) = try accounts(app).createToken(for: owner, name: name, expiresAt: days == 0 ? nil : now.addingTimeInterval(Double(days) * 86_400),
                                                        by: actor, now: now)
        // The secret travels once, in the signed flash, to the page that shows it; only its hash is kept.
        return app.web.redirect(ActionOutcome(location: Paths.tokens, flash: Flash(.success, "Token “\(name)” created. Copy it now: it is not shown again.",
                                                                                   values: ["new_token": secret])), ctx)
    }

    static func revokeToken(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let actor = try ctx.requireActor
        guard let id = ctx.idParameter() else { throw HTTPError.notFound("There is no such token.") }
        switch try accounts(app).revokeToken(id, owner: actor.may(.admin) ? nil : actor.userID, by: actor, now: Date()) {
        case .notFound:
            return app.web.redirect(.failed("There is no token #\(id) of yours; nothing was revoked.", redirectTo: Paths.tokens), ctx)
        case .alreadyRevoked(let token):
            return app.web.redirect(ActionOutcome(location: Paths.tokens, flash: Flash(.info, "Token “\(token.name)” was already revoked.")), ctx)
        case .revoked(let token):
            return app.web.redirect(.succeeded("Token “\(token.name)” revoked.", redirectTo: Paths.tokens), ctx)
        }
    }
}

struct TokensView: PageView {
    static let template = "accounts/tokens"
    let title = "API tokens"
    let section: NavSection? = .settings

    var tokens: [APIToken]
    var actor: Actor
    var newSecret: String?
    var typedName: String
    var typedDays: String
    var nameError: String?
    var now: Date

    func members() -> [String: TemplateValue] {
        let allUsers = actor.may(.admin)
        return [
            "tokens": .list(tokens.map { t in
                let state: String = t.revokedAt != nil ? "revoked" : (t.isUsable(at: now) ? "active" : "expired")
                return [
                    "name": .string(t.name), "prefix": .string(t.prefix + "…"), "owner": .string(t.username),
                    "created": Format.timestamp(t.createdAt, now: now),
                    "lastUsed": t.lastUsedAt.map { Format.timestamp($0, now: now) } ?? .null,
                    "expires": t.expiresAt.map { Format.timestamp($0, now: now) } ?? .null,
                    "state": .string(state), "usable": .bool(state == "active"),
                    "revokeAction": .string(Paths.tokens + "/\(t.id)/revoke"),
                    "revokeLabel": .string("Revoke \(t.name)"),
                ]
            }),
            "hasTokens": .bool(!tokens.isEmpty),
            "showOwner": .bool(allUsers),
            "newSecret": .optional(newSecret),
            "action": .string(Paths.tokens),
            "name": FormField("name", prefix: "token", value: typedName, error: nameError,
                              extra: ["maxlength": .int(AccountRules.tokenName.maxScalars)]).templateValue,
            "lifetimes": .list(AccountRoutes.tokenLifetimes.map { days in
                ["value": .string(String(days)), "label": .string(days == 0 ? "Never expires" : "\(days) days"),
                 "selected": .bool(String(days) == typedDays)]
            }),
            "apiDocsHref": .string(Paths.doc("json-api")),
        ]
    }
}
