import Foundation

/// Finds the signed-in user of a request for the web layer: sessions and API tokens from the
/// database (so every replica sees the same ones), with the configured session timeouts.
final class SessionAuthenticator: Authenticator {
    let accounts: AccountStore
    let idleTimeout: TimeInterval
    let lifetime: TimeInterval
    /// Basic credentials recently proven, so a training script logging every second costs one
    /// argon2 check every five minutes, not one per request.
    private let verified = VerifiedPasswords(lifetime: 300)
    /// Browser sessions found standing, for pages that read the counters first.
    let sessions = SessionCache()

    init(accounts: AccountStore, configuration: AppConfiguration) {
        self.accounts = accounts
        idleTimeout = configuration.sessionIdleTimeout
        lifetime = configuration.sessionLifetime
    }

    /// With `counters` read before it, a session found standing on an earlier request stands
    /// without a lookup while the `sessions` and `users` counters have not moved (see
    /// `SessionCache`); otherwise, and when its idle clock is due a write, it is looked up.
    func sessionActor(_ secret: String, now: Date, counters: CounterReading?) throws -> Actor? {
        let stamp = counters.flatMap(SessionCache.Stamp.init)
        if let stamp, let user = sessions.user(secret, at: stamp, now: now, idle: idleTimeout) { return user.actor(from: "") }
        guard let found = try accounts.session(secret, idle: idleTimeout, now: now) else {
            sessions.forget(secret)
            return nil
        }
        // A refresh just wrote the session, so its counter has moved past this stamp.
        if let stamp, !found.refreshed { sessions.keep(found.session, for: secret, at: stamp) }
        return found.session.user.actor(from: "")
    }

    /// HTTP Basic, throttled like the sign-in form (per user name and per address). A password
    /// proven in the last few minutes is accepted while the stored hash is the same one and the
    /// account is enabled, so a password change or a disabled account takes effect at once.
    func passwordActor(username raw: String, password: String, address: String, now: Date) throws -> Actor? {
        let username = raw.trimmingCharacters(in: .whitespaces).lowercased()
        guard AccountRules.isValidUsername(username), password.utf8.count <= AccountRules.passwordMaxBytes,
              let found = try accounts.credentials(username) else { return nil }
        let proof = AccountStore.digest(username + "\u{0}" + password + "\u{0}" + found.hash)
        if verified.contains(proof, now: now) {
            return found.user.disabled ? nil : found.user.actor(from: "")
        }
        let keys = ["user:" + username, "addr:" + address]
        let window = AccountRoutes.throttleWindow
        guard try accounts.failures(keys, since: now.addingTimeInterval(-window)).count < AccountRoutes.throttleLimit else { return nil }
        guard PasswordHasher.verify(password, against: found.hash) else {
            try accounts.recordFailure(keys, attempted: username, address: address, forgetBefore: now.addingTimeInterval(-4 * window), now: now)
            return nil
        }
        guard !found.user.disabled else { return nil }
        verified.insert(proof, now: now)
        return found.user.actor(from: "")
    }

    func tokenActor(_ secret: String, now: Date) throws -> Actor? {
        // Tokens have a fixed shape; anything else is refused without a lookup.
        guard secret.hasPrefix("ty_"), secret.utf8.count == 46 else { return nil }
        return try accounts.tokenUser(secret, now: now)?.actor(from: "")
    }
}

/// Digests of credentials proven recently, each for `lifetime` seconds; a few thousand at most.
final class VerifiedPasswords: @unchecked Sendable {
    private let lock = NSLock()
    private var until: [String: Date] = [:]
    let lifetime: TimeInterval

    init(lifetime: TimeInterval) { self.lifetime = lifetime }

    func contains(_ proof: String, now: Date) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let expiry = until[proof] else { return false }
        if expiry > now { return true }
        until[proof] = nil
        return false
    }

    func insert(_ proof: String, now: Date) {
        lock.lock()
        defer { lock.unlock() }
        if until.count >= 4096 { until = until.filter { $0.value > now } }
        if until.count >= 4096 { until.removeAll() }
        until[proof] = now.addingTimeInterval(lifetime)
    }
}
