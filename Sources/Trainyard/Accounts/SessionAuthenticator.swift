import Foundation

/// Finds the signed-in user of a request for the web layer: sessions and API tokens from the
/// database (so every replica sees the same ones), with the configured session timeouts.
final class SessionAuthenticator: Authenticator {
    let accounts: AccountStore
    let idleTimeout: TimeInterval
    let lifetime: TimeInterval

    init(accounts: AccountStore, configuration: AppConfiguration) {
        self.accounts = accounts
        idleTimeout = configuration.sessionIdleTimeout
        lifetime = configuration.sessionLifetime
    }

    func sessionActor(_ secret: String, now: Date) throws -> Actor? {
        try accounts.sessionUser(secret, idle: idleTimeout, now: now)?.actor(from: "")
    }

    func tokenActor(_ secret: String, now: Date) throws -> Actor? {
        // Tokens have a fixed shape; anything else is refused without a lookup.
        guard secret.hasPrefix("ty_"), secret.utf8.count == 46 else { return nil }
        return try accounts.tokenUser(secret, now: now)?.actor(from: "")
    }
}
