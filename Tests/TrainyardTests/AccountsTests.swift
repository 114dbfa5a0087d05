import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

extension Fixtures {
    /// Everything a refused request must leave as it was: row counts and the state of every row
    /// a POST route can change.
    static func fingerprint(_ db: Database) throws -> String {
        var parts: [String] = []
        for table in ["models", "training_jobs", "job_metrics", "job_params", "job_tags", "experiments", "deployments", "deployment_replicas", "deployment_status_history",
                      "users", "sessions", "api_tokens", "audit_log", "inference_sources", "inference_metrics"] {
            parts.append("\(table)=\(try count(db, table))")
        }
        parts += try db.query("SELECT id, status FROM training_jobs ORDER BY id").map { "job\(try $0.int("id")):\(try $0.string("status"))" }
        parts += try db.query("SELECT id, status, target_replicas, deleted_at, metrics_source FROM deployments ORDER BY id").map {
            "d\(try $0.int("id")):\(try $0.string("status")):\(try $0.int("target_replicas")):\(try $0.optionalDate("deleted_at") == nil):"
                + (try $0.string("metrics_source"))
        }
        parts += try db.query("SELECT id, role, disabled, password_hash FROM users ORDER BY id").map {
            "u\(try $0.int("id")):\(try $0.string("role")):\(try $0.int("disabled")):\(try $0.string("password_hash").suffix(8))"
        }
        parts += try db.query("SELECT id, revoked_at FROM api_tokens ORDER BY id").map { "t\(try $0.int("id")):\(try $0.optionalDate("revoked_at") == nil)" }
        return parts.joined(separator: " ")
    }
}

/// A database with something behind every id the route table's `{id}` can take (1).
private func populated(_ kind: TestDatabaseKind) throws -> RunningApp {
    let running = try RunningApp(kind)
    let db = running.database
    let model = try Fixtures.model(db)
    _ = try Fixtures.job(db, modelID: model, name: "queued-one")
    let done = try Fixtures.completeJob(db, modelID: model)
    _ = try Fixtures.deployment(db, jobID: done)
    return running
}

private func concrete(_ pattern: String) -> String {
    pattern.replacingOccurrences(of: "{id}", with: "1").replacingOccurrences(of: "{slug}", with: "test-model")
}

/// A change sent as its callers send it: a form POST from a signed-in browser, or under `/api/`
/// a JSON request with a token of `role` (create the tokens first: making one is a change).
private func change(_ running: RunningApp, _ route: TrainyardApp.RouteInfo, as role: Role, from browser: TestBrowser,
                    _ fields: [(String, String)]) throws -> TestResponse {
    let path = concrete(route.pattern)
    guard path.hasPrefix("/api/") else { return try browser.post(path, fields) }
    return try TestHTTPClient.send(port: running.port, method: route.method, path: path,
                                   headers: [("Authorization", "Bearer " + (try running.token(role))), ("Content-Type", "application/json")],
                                   body: route.method == "POST" ? "{}" : "")
}

@Suite struct AccessTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func anonymousRequestsToEveryProtectedRouteAreSentToSignInAndChangeNothing(_ kind: TestDatabaseKind) throws {
        let running = try populated(kind)
        defer { running.stop() }
        _ = try running.user(.admin)
        let routes = running.app.routeTable.filter { $0.access != .anyone }
        #expect(routes.count >= 20, "the route table is enumerated, not hand-listed")
        #expect(running.app.routeTable.filter { $0.access == .anyone }.map(\.pattern).sorted() == ["/login", "/login", "/logout"])
        for route in routes {
            let path = concrete(route.pattern)
            let before = try Fixtures.fingerprint(running.database)
            let anonymous = running.anonymousBrowser()
            try anonymous.get("/login")   // a session and a valid CSRF token, but nobody signed in
            let response = switch route.method {
            case "GET": try anonymous.get(path)
            case "POST": try anonymous.post(path, [("replicas", "3"), ("role", "admin")])
            default: try anonymous.request(route.method, path)
            }
            if path.hasPrefix("/api/") {
                #expect(response.status == 401, "\(route.method) \(path)")
                #expect(response.body.contains("\"error\""), "\(path)")
            } else if route.method == "GET" {
                #expect(response.status == 303, "\(path)")
                #expect(response.header("Location") == "/login?next=" + path.replacingOccurrences(of: "/", with: "%2F"), "\(path)")
            } else {
                #expect(response.status == 303, "POST \(path)")
                #expect(response.header("Location") == "/login", "POST \(path)")
            }
            #expect(try Fixtures.fingerprint(running.database) == before, "\(route.method) \(path) changed something")
        }
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func eachRoleIsRefusedEveryActionAboveItAndAllowedTheRest(_ kind: TestDatabaseKind) throws {
        let running = try populated(kind)
        defer { running.stop() }
        // Every change: forms from browsers, and under /api/ JSON with each role's token.
        let posts = running.app.routeTable.filter { $0.method != "GET" && $0.access != .anyone }
        let browsers = try Dictionary(uniqueKeysWithValues: Role.allCases.map { ($0, try running.browser(as: $0)) })
        for role in Role.allCases { _ = try running.token(role) }
        // Refusals first, while the data is as populated.
        for route in posts {
            guard case .signedIn(let needed) = route.access else { continue }
            for role in Role.allCases where role < needed {
                let before = try Fixtures.fingerprint(running.database)
                let response = try change(running, route, as: role, from: browsers[role]!, [("replicas", "3"), ("role", "admin"), ("name", "x")])
                #expect(response.status == 403, "\(role) POST \(route.pattern)")
                #expect(response.body.contains("This needs"), "\(route.pattern)")
                #expect(try Fixtures.fingerprint(running.database) == before, "\(role) POST \(route.pattern) changed something")
            }
        }
        // API calls first: a form further down revokes token 1, which is one of theirs.
        for route in posts.sorted(by: { $0.pattern.hasPrefix("/api/") && !$1.pattern.hasPrefix("/api/") }) {
            guard case .signedIn(let needed) = route.access else { continue }
            for role in Role.allCases where role >= needed {
                let response = try change(running, route, as: role, from: browsers[role]!, [("replicas", "3"), ("name", "x")])
                #expect(response.status != 403 && response.status != 401 && response.status < 500, "\(role) \(route.method) \(route.pattern): \(response.status) \(response.body.prefix(200))")
            }
        }
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aViewerSeesPagesButNoActionButtons(_ kind: TestDatabaseKind) throws {
        let running = try populated(kind)
        defer { running.stop() }
        let viewer = try running.browser(as: .viewer)
        for path in ["/", "/models", "/models/test-model", "/training/jobs", "/training/jobs/1", "/training/jobs/2", "/deployments", "/deployments/1"] {
            let page = try viewer.get(path)
            #expect(page.status == 200, "\(path)")
            for hidden in ["/start\"", "/stop\"", "/pause\"", "/scale\"", "/delete\"", "New training job", "Train this model", ">Deploy<"] {
                #expect(!page.body.contains(hidden), "\(path) shows \(hidden) to a viewer")
            }
            #expect(page.body.contains("Sign out"))
        }
        #expect(try viewer.get("/training/configure").status == 403)
        let operatorPage = try running.browser(as: .operator).get("/deployments/1")
        #expect(operatorPage.body.contains("/deployments/1/pause\""))
    }
}

@Suite struct SignInTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func signInRotatesTheSessionAndSignOutEndsIt(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let name = try running.user(.operator)
        let browser = running.anonymousBrowser()
        let login = try browser.get("/login?next=%2Fdeployments%3Fstatus%3Dactive")
        #expect(login.body.contains("name=\"username\"") && login.body.contains("name=\"password\""))
        let before = browser.cookies["ty_session"]
        let signedIn = try browser.post("/login", [("username", name), ("password", RunningApp.password), ("next", "/deployments?status=active")])
        #expect(signedIn.status == 303)
        #expect(signedIn.header("Location") == "/deployments?status=active")
        let after = browser.cookies["ty_session"]
        #expect(after != nil && after != before, "a new session id at sign-in")
        #expect(try browser.get("/deployments").status == 200)
        // The session id from before signing in signs nobody in.
        let replay = running.anonymousBrowser()
        replay.cookies["ty_session"] = before
        #expect(try replay.get("/deployments").status == 303)
        // An offsite `next` is ignored.
        let offsite = running.anonymousBrowser()
        try offsite.get("/login")
        #expect(try offsite.post("/login", [("username", name), ("password", RunningApp.password), ("next", "//evil.example")]).header("Location") == "/")

        try browser.get("/")
        let out = try browser.post("/logout", [])
        #expect(out.header("Location") == "/login")
        let stolen = running.anonymousBrowser()
        stolen.cookies["ty_session"] = after
        #expect(try stolen.get("/").status == 303, "the signed-out session is gone")
        #expect(try Fixtures.count(running.database, "sessions") == 1, "only the other browser's session is left")
    }

    /// Tagged pages keep a session found standing while the `sessions` and `users` counters
    /// stand; a write to either, from this process or any other, ends that at once.
    @Test(arguments: TestDatabaseKind.enabled)
    func aKeptSessionEndsTheMomentItsRowOrItsUserChanges(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let name = try running.user(.viewer)
        let viewer = try running.browser(as: .viewer)
        for path in ["/", "/deployments", "/"] { #expect(try viewer.get(path).status == 200) }
        #expect(running.app.authenticator.sessions.count == 1, "kept after a tagged page")

        // Deleted behind this process's back (another serve process, an operator's SQL).
        try db.execute("DELETE FROM sessions")
        #expect(try viewer.get("/").status == 303)
        try viewer.signIn(name, RunningApp.password)
        #expect(try viewer.get("/").body.contains("· Viewer</span>"))
        #expect(try viewer.get("/").body.contains("· Viewer</span>"))

        // The user changes: the next page has the new role, then the account is disabled.
        try db.execute("UPDATE users SET role = 'operator' WHERE username = $1", [.text(name)])
        #expect(try viewer.get("/").body.contains("· Operator</span>"))
        try db.execute("UPDATE users SET disabled = 1 WHERE username = $1", [.text(name)])
        #expect(try viewer.get("/").status == 303)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func sessionsExpireWhenIdleAndAtTheirLifetime(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let idle = try running.browser(as: .viewer)
        let old = try running.browser(as: .operator)
        #expect(try idle.get("/").status == 200)
        let db = running.database
        let idleUser = try AccountStore(database: db).user(named: try running.user(.viewer))!.id
        let oldUser = try AccountStore(database: db).user(named: try running.user(.operator))!.id
        try db.execute("UPDATE sessions SET last_seen_at = $2 WHERE user_id = $1",
                       [.int(Int64(idleUser)), .date(Date().addingTimeInterval(-running.app.configuration.sessionIdleTimeout - 5))])
        try db.execute("UPDATE sessions SET expires_at = $2 WHERE user_id = $1", [.int(Int64(oldUser)), .date(Date().addingTimeInterval(-1))])
        #expect(try idle.get("/").status == 303)
        #expect(try old.get("/").status == 303)
        // Recent use keeps a session: signed in again, the clock restarts.
        try idle.signIn(try running.user(.viewer), RunningApp.password)
        #expect(try idle.get("/").status == 200)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func disablingAUserOrChangingAPasswordEndsTheirSessions(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let admin = try running.browser(as: .admin)
        let name = try running.user(.operator)
        let first = try running.browser(as: .operator), second = try running.browser(as: .operator)
        let id = try AccountStore(database: running.database).user(named: name)!.id

        try admin.get("/settings/users")
        #expect(try admin.post("/settings/users/\(id)/password", [("password", "another long password")]).status == 303)
        #expect(try first.get("/").status == 303)
        #expect(try second.get("/").status == 303)
        #expect(throws: Error.self) { try first.signIn(name, RunningApp.password) }
        try first.signIn(name, "another long password")

        try admin.get("/settings/users")
        #expect(try admin.post("/settings/users/\(id)/disable", []).status == 303)
        #expect(try first.get("/").status == 303)
        let refused = running.anonymousBrowser()
        try refused.get("/login")
        let attempt = try refused.post("/login", [("username", name), ("password", "another long password")])
        #expect(attempt.header("Location") == "/login")
        #expect(try refused.get("/login").body.contains("This account is disabled"))
        // The last admin cannot be disabled or demoted.
        let adminID = try AccountStore(database: running.database).user(named: try running.user(.admin))!.id
        try admin.get("/settings/users")
        try admin.post("/settings/users/\(adminID)/disable", [])
        #expect(try admin.get("/settings/users").body.contains("would leave no enabled admin"))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func wrongCredentialsGetOneMessageAndRepeatedFailuresAreThrottled(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let name = try running.user(.viewer)
        let browser = running.anonymousBrowser()
        try browser.get("/login")
        try browser.post("/login", [("username", "nobody-here"), ("password", "whatever whatever")])
        let unknown = try browser.get("/login").body
        try browser.post("/login", [("username", name), ("password", "wrong password!!")])
        let wrong = try browser.get("/login")
        #expect(unknown.contains(AccountRoutes.wrongCredentials))
        #expect(wrong.body.contains(AccountRoutes.wrongCredentials))
        #expect(wrong.body.contains("value=\"\(name)\""), "the user name typed is kept")
        for _ in 0..<3 { try browser.post("/login", [("username", name), ("password", "wrong password!!")]) }
        // Five failures for this address now: even the right password waits.
        let throttled = try browser.post("/login", [("username", name), ("password", RunningApp.password)])
        #expect(throttled.header("Location") == "/login")
        #expect(try browser.get("/login").body.contains("Too many failed sign-ins"))
        #expect(try Fixtures.count(running.database, "sessions") == 0)
        // Failed attempts are in the audit trail.
        #expect(try running.database.queryOne("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'session.sign_in_failed'")!.int("n") == 5)
    }

    @Test func theFirstAdminIsCreatedOnceWithAGeneratedPassword() throws {
        let db = try makeTestDatabase(.sqlite)
        defer { db.close() }
        try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
        let created = try #require(try AccountCommands.createFirstAdmin(db))
        #expect(created.username == "admin")
        #expect(created.password.count >= 20)
        #expect(try AccountCommands.createFirstAdmin(db) == nil)
        let stored = try #require(try AccountStore(database: db).credentials("admin"))
        #expect(stored.user.role == .admin)
        #expect(stored.hash.hasPrefix("$argon2id$v=19$m=19456,t=2,p=1$"))
        #expect(PasswordHasher.verify(created.password, against: stored.hash))
        #expect(!PasswordHasher.verify(created.password + "x", against: stored.hash))
        #expect(!PasswordHasher.verify("anything", against: "not a hash"))
    }

    @Test func accountRulesRefuseBadNamesAndPasswords() throws {
        let db = try makeTestDatabase(.sqlite)
        defer { db.close() }
        try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
        for bad in ["", "UPPER", "has space", "semi;colon", String(repeating: "a", count: 65), "ümlaut"] {
            #expect(throws: AccountCommands.Refused.self) { _ = try AccountCommands.createUser(db, username: bad, role: "viewer", displayName: "", password: "long enough password") }
        }
        #expect(throws: AccountCommands.Refused.self) { _ = try AccountCommands.createUser(db, username: "ok", role: "viewer", displayName: "", password: "short") }
        #expect(throws: AccountCommands.Refused.self) { _ = try AccountCommands.createUser(db, username: "ok", role: "boss", displayName: "", password: "long enough password") }
        #expect(throws: AccountCommands.Refused.self) {
            _ = try AccountCommands.createUser(db, username: "ok", role: "viewer", displayName: "", password: String(repeating: "é", count: 600))
        }
        _ = try AccountCommands.createUser(db, username: "a.b_c-1", role: "operator", displayName: "A B", password: "long enough password")
        #expect(throws: AccountCommands.Refused.self) { _ = try AccountCommands.createUser(db, username: "a.b_c-1", role: "viewer", displayName: "", password: "long enough password") }
    }
}

@Suite struct TokenTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func bearerTokensAuthenticateTheAPIUntilRevokedOrExpired(_ kind: TestDatabaseKind) throws {
        let running = try populated(kind)
        defer { running.stop() }
        func api(_ token: String?) throws -> TestResponse {
            try TestHTTPClient.send(port: running.port, method: "GET", path: "/api/training/1/metrics",
                                    headers: token.map { [("Authorization", "Bearer " + $0)] } ?? [])
        }
        // Created through the page, shown once.
        let viewer = try running.browser(as: .viewer)
        try viewer.get("/settings/tokens")
        let created = try viewer.post("/settings/tokens", [("name", "nightly export"), ("expires_in_days", "30")])
        #expect(created.status == 303)
        let shown = try viewer.get("/settings/tokens").body
        let secret = try #require(shown.components(separatedBy: "id=\"new-token\">").dropFirst().first?.components(separatedBy: "<").first)
        #expect(secret.hasPrefix("ty_") && secret.count == 46)
        #expect(!(try viewer.get("/settings/tokens").body.contains(secret)), "shown once")
        #expect(try running.database.queryOne("SELECT token_hash FROM api_tokens WHERE name = 'nightly export'")!.string("token_hash") != secret)

        #expect(try api(secret).status == 200)
        #expect(try api(nil).status == 401)
        #expect(try api("ty_" + String(repeating: "A", count: 43)).status == 401)
        #expect(try api("garbage").status == 401)
        #expect(try api(nil).header("WWW-Authenticate")?.hasPrefix("Bearer") == true)

        // Another user's token cannot be revoked by a viewer; nothing changes.
        let adminToken = try running.token(.admin)
        let adminTokenID = try running.database.queryOne("SELECT id FROM api_tokens WHERE user_id <> (SELECT id FROM users WHERE username = 'test-viewer')")!.int("id")
        try viewer.get("/settings/tokens")
        try viewer.post("/settings/tokens/\(adminTokenID)/revoke", [])
        #expect(try api(adminToken).status == 200)
        #expect(try viewer.get("/settings/tokens").body.contains("There is no token #\(adminTokenID) of yours"))

        // The owner revokes theirs.
        let ownID = try running.database.queryOne("SELECT id FROM api_tokens WHERE name = 'nightly export'")!.int("id")
        try viewer.get("/settings/tokens")
        #expect(try viewer.post("/settings/tokens/\(ownID)/revoke", []).status == 303)
        #expect(try api(secret).status == 401)

        // An admin revokes anyone's; an expired token stops working by itself.
        let operatorToken = try running.token(.operator)
        #expect(try api(operatorToken).status == 200)
        try running.database.execute("UPDATE api_tokens SET expires_at = $1 WHERE token_hash = $2",
                                     [.date(Date().addingTimeInterval(-1)), .text(AccountStore.digest(operatorToken))])
        #expect(try api(operatorToken).status == 401)
        let admin = try running.browser(as: .admin)
        #expect(try admin.get("/settings/tokens").body.contains("test-viewer"), "an admin lists every token")
        try admin.post("/settings/tokens/\(adminTokenID)/revoke", [])
        #expect(try api(adminToken).status == 401)
        // Revoked and created tokens are in the audit trail.
        #expect(try running.database.queryOne("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'token.revoke'")!.int("n") == 2)
    }
}

@Suite struct AuditTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func changesWriteAuditRowsWithTheRealActorAndNoneWhenTheChangeFails(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let job = try Fixtures.completeJob(db, modelID: try Fixtures.model(db))
        // Twenty simultaneous deploys of one job: one succeeds, nineteen roll back, and with them their audit rows.
        let browsers = try (0..<20).map { _ in try running.browser(as: .operator) }
        DispatchQueue.concurrentPerform(iterations: 20) { i in _ = try? browsers[i].post("/deployments", [("job_id", "\(job)")]) }
        #expect(try Fixtures.count(db, "deployments") == 1)
        #expect(try db.queryOne("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'deployment.create'")!.int("n") == 1)

        let id = try db.queryOne("SELECT id FROM deployments")!.int("id")
        try browsers[0].get("/deployments/\(id)")
        #expect(try browsers[0].post("/deployments/\(id)/scale", [("replicas", "4")]).status == 303)
        let row = try #require(try db.queryOne("SELECT actor, target_type, target_id, details, client_address FROM audit_log WHERE action = 'deployment.scale'"))
        #expect(try row.string("actor") == "test-operator")
        #expect(try row.string("target_type") == "deployment" && row.string("target_id") == "\(id)")
        #expect(try row.string("details").contains("replicas 2 → 4"))
        #expect(try row.string("client_address") == "127.0.0.1")
        // History and "deployed by" show the person, not "web".
        #expect(try db.queryOne("SELECT deployed_by FROM deployments")!.string("deployed_by") == "test-operator")
        let page = try browsers[0].get("/deployments/\(id)")
        #expect(page.body.contains("by test-operator"))

        // A refused change writes nothing: scaling a deleted deployment.
        try browsers[0].post("/deployments/\(id)/delete", [])
        let audited = try Fixtures.count(db, "audit_log")
        try browsers[0].get("/deployments/\(id)")
        try browsers[0].post("/deployments/\(id)/scale", [("replicas", "2")])
        #expect(try Fixtures.count(db, "audit_log") == audited)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func theAuditPageFiltersByActorActionTargetAndTime(_ kind: TestDatabaseKind) throws {
        let running = try populated(kind)
        defer { running.stop() }
        let operatorBrowser = try running.browser(as: .operator)
        try operatorBrowser.get("/training/jobs/1")
        try operatorBrowser.post("/training/jobs/1/start", [])
        let viewer = try running.browser(as: .viewer)
        let all = try viewer.get("/audit")
        #expect(all.status == 200)
        #expect(all.body.contains("job.start") && all.body.contains("session.sign_in"))
        let byActor = try viewer.get("/audit?actor=test-operator&action=job.start")
        #expect(byActor.body.contains("Entries with action job.start, by test-operator"))
        #expect(byActor.body.contains("<code>job.start</code>"))
        #expect(!byActor.body.contains("<code>session.sign_in</code>"))
        let target = try viewer.get("/audit?target=job:1")
        #expect(target.body.contains("<code>job.start</code>") && !target.body.contains("<code>deployment.create</code>"))
        let future = try viewer.get("/audit?since=2999-01-01")
        #expect(future.body.contains("No entries match these filters."))
        for bad in ["since=yesterday", "until=2026-02-31", "target=planet", "action=drop%20table", "page=-3", "per=100000", "since=2026-13-01T25:00"] {
            let page = try viewer.get("/audit?\(bad)")
            #expect(page.status == 200, "\(bad)")
        }
        #expect(try viewer.get("/audit?since=yesterday").body.contains("is not a time"))
        #expect(AuditRoutes.parseTime("2026-12-01T14:30") == Date(timeIntervalSince1970: 1_796_135_400))
        #expect(AuditRoutes.parseTime("2026-02-29") == nil)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func forwardedHeadersAreBelievedOnlyFromTrustedProxies(_ kind: TestDatabaseKind) throws {
        let direct = try RunningApp(kind)
        defer { direct.stop() }
        let name = try direct.user(.viewer)
        let spoof = try TestHTTPClient.send(port: direct.port, method: "GET", path: "/login",
                                            headers: [("X-Forwarded-Proto", "https"), ("X-Forwarded-For", "203.0.113.9")])
        #expect(spoof.headers("Set-Cookie").contains { $0.hasPrefix("ty_session=") && !$0.contains("Secure") })
        let browser = direct.anonymousBrowser()
        try browser.signIn(name, RunningApp.password)
        #expect(try direct.database.queryOne("SELECT client_address FROM sessions")!.string("client_address") == "127.0.0.1")

        let proxied = try RunningApp(kind) { $0.trustedProxies = ["127.0.0.1"] }
        defer { proxied.stop() }
        let behind = try TestHTTPClient.send(port: proxied.port, method: "GET", path: "/login",
                                             headers: [("X-Forwarded-Proto", "https"), ("X-Forwarded-For", "198.51.100.7, 127.0.0.1")])
        let cookie = try #require(behind.headers("Set-Cookie").first { $0.hasPrefix("__Host-ty_session=") })
        #expect(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"))
        #expect(proxied.app.web.clients.clientAddress(try HTTPRequestProbe.request(forwardedFor: "198.51.100.7, 127.0.0.1")) == "198.51.100.7")
    }
}

import HTTPServer

enum HTTPRequestProbe {
    static func request(forwardedFor: String) throws -> HTTPRequest {
        var headers = HTTPHeaders()
        headers.add("X-Forwarded-For", forwardedFor)
        return HTTPRequest(method: "GET", target: "/", headers: headers, remoteAddress: "127.0.0.1:5555")
    }
}

@Suite struct AccountFormInputTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func hostileValuesInTheAccountFormsAreRefusedWithAFlashAndChangeNothing(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let admin = try running.browser(as: .admin)
        let hostile = ["", " ", String(repeating: "x", count: 5_000), "a\u{0}b", "\u{202E}evil", "'; DROP TABLE users; --",
                       "99999999999999999999", "-1", "ü" + String(repeating: "\u{0301}", count: 200)]
        for value in hostile {
            let before = try Fixtures.fingerprint(running.database)
            try admin.get("/settings/users")
            let user = try admin.post("/settings/users", [("username", value), ("display_name", value), ("role", value), ("password", value)])
            #expect(user.status == 303 && user.header("Location") == "/settings/users", "users: \(value.prefix(20))")
            let page = try admin.get("/settings/users")
            #expect(page.status == 200 && page.body.contains("flash flash-error"))
            try admin.get("/settings/tokens")
            let token = try admin.post("/settings/tokens", [("name", value), ("expires_in_days", value)])
            #expect(token.status == 303, "tokens: \(value.prefix(20))")
            #expect(try admin.get("/settings/tokens").body.contains("flash flash-error"))
            for path in ["/settings/users/1/role", "/settings/users/abc/disable", "/settings/users/99999999999999999999/password",
                         "/settings/tokens/-1/revoke"] {
                try admin.get("/settings/users")
                let response = try admin.post(path, [("role", value), ("password", value)])
                #expect(response.status < 500, "\(path) \(value.prefix(20))")
            }
            let login = running.anonymousBrowser()
            try login.get("/login")
            #expect(try login.post("/login", [("username", value), ("password", value), ("next", value)]).status == 303)
            // Only failed sign-ins are recorded; no user, token, role or password changed.
            #expect(try Fixtures.fingerprint(running.database).replacingOccurrences(of: #"audit_log=\d+"#, with: "", options: .regularExpression)
                    == before.replacingOccurrences(of: #"audit_log=\d+"#, with: "", options: .regularExpression), "\(value.prefix(20))")
        }
        // The typed user name and display name come back; the password never does.
        try admin.get("/settings/users")
        try admin.post("/settings/users", [("username", "Bad Name"), ("display_name", "Kept Name"), ("role", "viewer"), ("password", "secret-typed")])
        let refused = try admin.get("/settings/users").body
        #expect(refused.contains("value=\"bad name\"") && refused.contains("value=\"Kept Name\"") && !refused.contains("secret-typed"))
        #expect(try admin.get("/audit?since=%00&until=%ff%fe&actor=%0a&target=%00:%00&action=%00").status == 200)
    }
}
