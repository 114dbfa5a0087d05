import Crypto
import Foundation
import Storage

/// All SQL on `users`, `sessions`, `api_tokens` and `login_failures`. Every change writes its
/// audit row in the same transaction.
struct AccountStore {
    let database: Database

    static let userColumns = "u.id, u.username, u.display_name, u.role, u.disabled, u.created_at, u.updated_at"

    static func decodeUser(_ row: Row) throws -> User {
        User(id: try row.int("id"), username: try row.string("username"), displayName: try row.string("display_name"),
             role: Role(rawValue: try row.string("role")) ?? .viewer, disabled: try row.int("disabled") != 0,
             createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"))
    }

    /// The SHA-256 of a session or token secret, as stored.
    static func digest(_ secret: String) -> String {
        Hex.encode(SHA256.hash(data: Array(secret.utf8)))
    }

    // MARK: Users

    func user(id: Int) throws -> User? {
        try database.queryOne("SELECT \(Self.userColumns) FROM users u WHERE u.id = $1", [.int(Int64(id))]).map(Self.decodeUser)
    }

    func user(named username: String) throws -> User? {
        try database.queryOne("SELECT \(Self.userColumns) FROM users u WHERE u.username = $1", [.text(username)]).map(Self.decodeUser)
    }

    /// The user and their password hash, for signing in.
    func credentials(_ username: String) throws -> (user: User, hash: String)? {
        try database.queryOne("SELECT \(Self.userColumns), u.password_hash FROM users u WHERE u.username = $1", [.text(username)]).map {
            (try Self.decodeUser($0), try $0.string("password_hash"))
        }
    }

    /// Every user, by name (a team's worth: the users page lists them all).
    func users() throws -> [User] {
        try database.query("SELECT \(Self.userColumns) FROM users u ORDER BY u.username LIMIT 1000", []).map(Self.decodeUser)
    }

    func hasUsers() throws -> Bool {
        try database.queryOne("SELECT id FROM users LIMIT 1", []) != nil
    }

    enum CreateUserResult: Equatable {
        case created(User)
        case nameTaken
    }

    /// Creates a user; the name and password must pass `AccountRules` (a typed error otherwise).
    func createUser(username: String, displayName: String, role: Role, password: String, by actor: Actor, now: Date) throws -> CreateUserResult {
        try AccountRules.checkUsername(username)
        try AccountRules.checkPassword(password)
        try AccountRules.displayName.check(displayName)
        let hash = try PasswordHasher.hash(password)
        do {
            return try database.transaction { conn in
                .created(try Self.insertUser(conn, username: username, displayName: displayName, role: role, passwordHash: hash,
                                             by: actor, now: now))
            }
        } catch let error as DatabaseError where error.isUniqueViolation(on: "users_username_key") {
            return .nameTaken
        }
    }

    /// Inserts a user whose password is already hashed, with its audit row.
    static func insertUser(_ conn: DatabaseConnection, username: String, displayName: String, role: Role, passwordHash: String,
                           by actor: Actor, now: Date) throws -> User {
        let id = try conn.query("""
            INSERT INTO users (username, display_name, role, disabled, password_hash, created_at, updated_at)
            VALUES ($1, $2, $3, 0, $4, $5, $5) RETURNING id
            """, [.text(username), .text(displayName), .text(role.rawValue), .text(passwordHash), .date(now)])[0].int("id")
        try AuditStore.record(conn, actor, .userCreate, target: username, details: "role \(role.rawValue)", now: now)
        return User(id: id, username: username, displayName: displayName, role: role, disabled: false, createdAt: now, updatedAt: now)
    }

    /// Whether any admin exists (enabled or not).
    func hasAdmin() throws -> Bool {
        try database.queryOne("SELECT id FROM users WHERE role = 'admin' LIMIT 1", []) != nil
    }

    enum UserChange: Equatable {
        case changed(before: User)
        case unchanged(User)
        /// Refused: it would leave no enabled admin.
        case lastAdmin
        case notFound
    }

    /// Runs `body` on the locked user inside one transaction.
    private func change(_ id: Int, _ body: (DatabaseConnection, User) throws -> UserChange) throws -> UserChange {
        try database.transaction { conn in
            guard let row = try conn.queryOne("SELECT \(Self.userColumns) FROM users u WHERE u.id = $1" + conn.dialect.lockRows(),
                                              [.int(Int64(id))]) else { return .notFound }
            return try body(conn, try Self.decodeUser(row))
        }
    }

    /// Whether another enabled admin than `id` exists (checked inside the change's transaction).
    private static func anotherAdmin(_ conn: DatabaseConnection, than id: Int) throws -> Bool {
        try conn.queryOne("SELECT id FROM users WHERE role = 'admin' AND disabled = 0 AND id <> $1 LIMIT 1", [.int(Int64(id))]) != nil
    }

    func setRole(_ id: Int, to role: Role, by actor: Actor, now: Date) throws -> UserChange {
        try change(id) { conn, user in
            guard user.role != role else { return .unchanged(user) }
            if user.role == .admin, try !Self.anotherAdmin(conn, than: id) { return .lastAdmin }
            try conn.execute("UPDATE users SET role = $2, updated_at = $3 WHERE id = $1", [.int(Int64(id)), .text(role.rawValue), .date(now)])
            try AuditStore.record(conn, actor, .userRole, target: user.username, details: "role \(user.role.rawValue) → \(role.rawValue)", now: now)
            return .changed(before: user)
        }
    }

    /// Disabling ends the user's sessions at once; their tokens stop working while disabled.
    func setDisabled(_ id: Int, _ disabled: Bool, by actor: Actor, now: Date) throws -> UserChange {
        try change(id) { conn, user in
            guard user.disabled != disabled else { return .unchanged(user) }
            if disabled, user.role == .admin, try !Self.anotherAdmin(conn, than: id) { return .lastAdmin }
            try conn.execute("UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1",
                             [.int(Int64(id)), .int(disabled ? 1 : 0), .date(now)])
            if disabled { try conn.execute("DELETE FROM sessions WHERE user_id = $1", [.int(Int64(id))]) }
            try AuditStore.record(conn, actor, disabled ? .userDisable : .userEnable, target: user.username, now: now)
            return .changed(before: user)
        }
    }

    /// A new password ends every session of the user except `keeping` (the one that changed it).
    func setPassword(_ id: Int, to password: String, keeping session: String? = nil, by actor: Actor, now: Date) throws -> UserChange {
        try AccountRules.checkPassword(password)
        let hash = try PasswordHasher.hash(password)
        return try change(id) { conn, user in
            try conn.execute("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1", [.int(Int64(id)), .text(hash), .date(now)])
            try conn.execute("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2",
                             [.int(Int64(id)), .text(session.map(Self.digest) ?? "")])
            try AuditStore.record(conn, actor, .userPassword, target: user.username, now: now)
            return .changed(before: user)
        }
    }

    // MARK: Sessions

    /// Starts a session for `user` under the new secret `token`, dropping the session of
    /// `replacing` (the cookie the browser came with), and records the sign-in.
    func startSession(_ token: String, for user: User, replacing old: String?, lifetime: TimeInterval, address: String, now: Date) throws {
        try database.transaction { conn in
            if let old { try conn.execute("DELETE FROM sessions WHERE token_hash = $1", [.text(Self.digest(old))]) }
            try conn.execute("""
                INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, client_address)
                VALUES ($1, $2, $3, $3, $4, $5)
                """, [.text(Self.digest(token)), .int(Int64(user.id)), .date(now), .date(now.addingTimeInterval(lifetime)), .text(address)])
            try AuditStore.record(conn, user.actor(from: address), .signIn, target: user.username, now: now)
        }
    }

    /// How often a session's idle clock is written: browsing costs no writes in between.
    static let lastSeenStep: TimeInterval = 60

    /// The signed-in session `token`: not expired, not idle longer than `idle`, its user not
    /// disabled (else it is deleted and nil). Refreshes the idle clock at most once every
    /// `lastSeenStep`; `refreshed` says it did so now.
    func session(_ token: String, idle: TimeInterval, now: Date) throws -> (session: StoredSession, refreshed: Bool)? {
        let hash = Self.digest(token)
        guard let row = try database.queryOne("""
            SELECT \(Self.userColumns), s.last_seen_at, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.token_hash = $1
            """, [.text(hash)]) else { return nil }
        let session = StoredSession(user: try Self.decodeUser(row), lastSeen: try row.date("last_seen_at"), expires: try row.date("expires_at"))
        guard session.stands(now: now, idle: idle) else {
            try database.execute("DELETE FROM sessions WHERE token_hash = $1", [.text(hash)])
            return nil
        }
        if now.timeIntervalSince(session.lastSeen) >= Self.lastSeenStep {
            try database.execute("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1", [.text(hash), .date(now)])
            return (session, true)
        }
        return (session, false)
    }

    func endSession(_ token: String, user: User, address: String, now: Date) throws {
        try database.transaction { conn in
            if try conn.execute("DELETE FROM sessions WHERE token_hash = $1", [.text(Self.digest(token))]) > 0 {
                try AuditStore.record(conn, user.actor(from: address), .signOut, target: user.username, now: now)
            }
        }
    }

    /// Deletes sessions past their absolute lifetime, a batch at a time (background work).
    func pruneSessions(now: Date) throws -> Int {
        try database.execute("""
            DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at < $1 LIMIT 1000)
            """, [.date(now)])
    }

    // MARK: Sign-in throttling

    /// Failures per key since `since` (a key is `user:NAME` or `addr:ADDRESS`), with the oldest.
    func failures(_ keys: [String], since: Date) throws -> (count: Int, oldest: Date?) {
        var p = SQLParameters()
        let rows = try database.query("""
            SELECT throttle_key, COUNT(*) AS n, MIN(created_at) AS oldest FROM login_failures
            WHERE throttle_key IN (\(p.list(keys.map { .text($0) }))) AND created_at >= \(p.add(.date(since))) GROUP BY throttle_key
            """, p.values)
        var worst = (count: 0, oldest: Date?.none)
        for row in rows where try row.int("n") > worst.count {
            worst = (try row.int("n"), try row.optionalDate("oldest"))
        }
        return worst
    }

    /// Records a failed sign-in under each key and in the audit trail; forgets failures older
    /// than `forgetBefore`.
    func recordFailure(_ keys: [String], attempted username: String, address: String, forgetBefore: Date, now: Date) throws {
        try database.transaction { conn in
            for key in keys {
                try conn.execute("INSERT INTO login_failures (throttle_key, created_at) VALUES ($1, $2)", [.text(key), .date(now)])
            }
            try conn.execute("DELETE FROM login_failures WHERE id IN (SELECT id FROM login_failures WHERE created_at < $1 LIMIT 100)",
                             [.date(forgetBefore)])
            let anonymous = Actor(userID: nil, username: "anonymous", displayName: "Anonymous", role: .viewer, clientAddress: address)
            try AuditStore.record(conn, anonymous, .signInFailed, target: String(username.prefix(64)), now: now)
        }
    }

    // MARK: API tokens

    static let tokenColumns = """
        t.id, t.user_id, u.username, t.name, t.prefix, t.created_at, t.last_used_at, t.expires_at, t.revoked_at
        """

    static func decodeToken(_ row: Row) throws -> APIToken {
        APIToken(id: try row.int("id"), userID: try row.int("user_id"), username: try row.string("username"), name: try row.string("name"),
                 prefix: try row.string("prefix"), createdAt: try row.date("created_at"), lastUsedAt: try row.optionalDate("last_used_at"),
                 expiresAt: try row.optionalDate("expires_at"), revokedAt: try row.optionalDate("revoked_at"))
    }

    /// Creates a token for `user`; returns the secret (shown once) and the stored token.
    func createToken(for user: User, name: String, expiresAt: Date?, by actor: Actor, now: Date) throws -> (secret: String, token: APIToken) {
        try AccountRules.tokenName.check(name)
        // 256 bits of randomness; the prefix (not secret) tells tokens apart in the list.
        let secret = "ty_" + Signer.randomToken()
        let prefix = String(secret.prefix(11))
        return try database.transaction { conn in
            let id = try conn.query("""
                INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
                """, [.int(Int64(user.id)), .text(name), .text(prefix), .text(Self.digest(secret)), .date(now), SQLValue(expiresAt)])[0].int("id")
            try AuditStore.record(conn, actor, .tokenCreate, target: "\(id)", details: "\(name) (\(prefix)…) for \(user.username)", now: now)
            return (secret, APIToken(id: id, userID: user.id, username: user.username, name: name, prefix: prefix, createdAt: now,
                                     lastUsedAt: nil, expiresAt: expiresAt, revokedAt: nil))
        }
    }

    /// The tokens of `userID`, or of everyone when nil, newest first.
    func tokens(of userID: Int?) throws -> [APIToken] {
        var p = SQLParameters()
        let filter = userID.map { "WHERE t.user_id = " + p.add(.int(Int64($0))) } ?? ""
        return try database.query("""
            SELECT \(Self.tokenColumns) FROM api_tokens t JOIN users u ON u.id = t.user_id \(filter)
            ORDER BY t.created_at DESC, t.id DESC LIMIT 500
            """, p.values).map(Self.decodeToken)
    }

    enum RevokeResult: Equatable {
        case revoked(APIToken)
        case alreadyRevoked(APIToken)
        case notFound
    }

    /// Revokes token `id`; with `owner`, only if it belongs to that user (others look absent).
    func revokeToken(_ id: Int, owner: Int?, by actor: Actor, now: Date) throws -> RevokeResult {
        try database.transaction { conn in
            guard let row = try conn.queryOne("""
                SELECT \(Self.tokenColumns) FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1
                """ + conn.dialect.lockRows(of: "t"), [.int(Int64(id))]) else { return .notFound }
            let token = try Self.decodeToken(row)
            if let owner, token.userID != owner { return .notFound }
            if token.revokedAt != nil { return .alreadyRevoked(token) }
            try conn.execute("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1", [.int(Int64(id)), .date(now)])
            try AuditStore.record(conn, actor, .tokenRevoke, target: "\(id)", details: "\(token.name) (\(token.prefix)…) of \(token.username)", now: now)
            return .revoked(token)
        }
    }

    /// The owner of a usable token `secret` (not revoked, not expired, owner not disabled).
    /// Records its use at most once a minute.
    func tokenUser(_ secret: String, now: Date) throws -> User? {
        let hash = Self.digest(secret)
        guard let row = try database.queryOne("""
            SELECT \(Self.userColumns), t.id AS token_id, t.last_used_at, t.expires_at, t.revoked_at
            FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1
            """, [.text(hash)]) else { return nil }
        let user = try Self.decodeUser(row)
        guard !user.disabled, try row.optionalDate("revoked_at") == nil, (try row.optionalDate("expires_at")).map({ $0 > now }) ?? true else {
            return nil
        }
        if (try row.optionalDate("last_used_at")).map({ now.timeIntervalSince($0) >= 60 }) ?? true {
            try database.execute("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", [.int(Int64(try row.int("token_id"))), .date(now)])
        }
        return user
    }
}
