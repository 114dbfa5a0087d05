import Foundation
import HTTPServer
import Logging
import Storage
@testable import Trainyard
import TrainyardTestSupport

/// The real app on a real socket (port 0) over a fresh database of the given kind.
final class RunningApp {
    static let repositoryRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
    }()

    let database: Database
    let app: TrainyardApp
    let server: HTTPServer
    var port: Int { server.port }

    convenience init(_ kind: TestDatabaseKind, configure: (inout AppConfiguration) -> Void = { _ in }) throws {
        try self.init(database: try makeTestDatabase(kind), configure: configure)
    }

    init(database: Database, configure: (inout AppConfiguration) -> Void = { _ in }) throws {
        self.database = database
        try Migrator(database: database, migrations: Schema.migrations(for: database.dialect)).migrate()
        var config = AppConfiguration()
        config.templatesDirectory = Self.repositoryRoot + "/Templates"
        config.publicDirectory = Self.repositoryRoot + "/Public"
        config.docsDirectory = Self.repositoryRoot + "/Docs"
        config.port = 0
        configure(&config)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        app = try TrainyardApp(configuration: config, database: database,
                               secret: Array("test-secret-key-that-is-long-enough-0123456789".utf8), logger: logger)
        var serverConfig = ServerConfiguration()
        serverConfig.port = 0
        serverConfig.workerThreads = 8
        server = HTTPServer(configuration: serverConfig, responder: app, logger: logger)
        try server.start()
    }

    /// A browser signed in as an admin (most tests are about what the pages do, not who may).
    func browser() throws -> TestBrowser { try browser(as: .admin) }

    /// A browser that has not signed in.
    func anonymousBrowser() -> TestBrowser { TestBrowser(port: port) }

    static let password = "correct horse battery staple"
    private var usersByRole: [Role: String] = [:]

    /// A browser signed in as a user of `role` (created once per app, password `RunningApp.password`).
    func browser(as role: Role) throws -> TestBrowser {
        let username = try user(role)
        let browser = TestBrowser(port: port)
        try browser.signIn(username, Self.password)
        return browser
    }

    private var adminSession: TestBrowser?
    private var tokens: [Role: String] = [:]

    /// An API token of this app's `role` test user.
    func token(_ role: Role = .admin) throws -> String {
        if let token = tokens[role] { return token }
        let accounts = AccountStore(database: database)
        let owner = try accounts.user(named: try user(role))!
        let token = try accounts.createToken(for: owner, name: "tests", expiresAt: nil, by: .system, now: Date()).secret
        tokens[role] = token
        return token
    }

    /// One request as a signed-in admin: the session cookie for pages, a Bearer token under `/api/`.
    func send(_ path: String, method: String = "GET") throws -> TestResponse {
        if path.hasPrefix("/api/") {
            return try TestHTTPClient.send(port: port, method: method, path: path, headers: [("Authorization", "Bearer " + token())])
        }
        if adminSession == nil { adminSession = try browser() }
        return try adminSession!.request(method, path)
    }

    /// The name of this app's test user with `role`, created on first use.
    func user(_ role: Role) throws -> String {
        if let name = usersByRole[role] { return name }
        let name = "test-\(role.rawValue)"
        _ = try AccountCommands.createUser(database, username: name, role: role.rawValue, displayName: "Test \(role.rawValue)",
                                           password: Self.password)
        usersByRole[role] = name
        return name
    }

    /// A model and one queued job of it; returns the job's id.
    func queuedJob() throws -> Int {
        try Fixtures.job(database, modelID: try Fixtures.model(database))
    }

    func stop() {
        server.shutdown()
        server.waitUntilStopped()
        database.close()
    }
}
