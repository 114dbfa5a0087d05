import Foundation
import HTTPServer
import Logging
import Storage
import Trainyard
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

    func browser() -> TestBrowser { TestBrowser(port: port) }

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
