import ArgumentParser
import Foundation
import HTTPServer
import Logging
import Storage
import StoragePostgres
import StorageSQLite
import Trainyard

@main
struct TrainyardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trainyard",
        abstract: "Trainyard: configure, train, deploy and watch ML models.",
        subcommands: [Serve.self, Migrate.self, SeedDemo.self, CreateUser.self, SetPassword.self, BenchLoad.self],
        defaultSubcommand: Serve.self
    )
}

/// Options every command shares: where the data lives and how much to log.
struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "postgres://… to use PostgreSQL (env DATABASE_URL). Default: SQLite in the data directory.")
    var databaseURL: String?

    @Option(name: .customLong("data-dir"), help: "Directory for the SQLite file and the generated secret key (env TRAINYARD_DATA_DIR, default ./data).")
    var dataDirectory: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env LOG_LEVEL, default info).")
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: "text, or json for one JSON object a line (env LOG_FORMAT, default text).")
    var logFormat: String?

    /// The environment's configuration with these flags applied on top.
    func resolve() throws -> AppConfiguration {
        var config = try AppConfiguration.fromEnvironment()
        if let databaseURL { config.databaseURL = databaseURL }
        if let dataDirectory { config.dataDirectory = dataDirectory }
        if let logLevel { config.logLevel = try AppConfiguration.parseLogLevel(logLevel, source: "--log-level") }
        if let logFormat { config.logFormat = try AppConfiguration.parseLogFormat(logFormat, source: "--log-format") }
        return config
    }
}

enum Bootstrap {
    static func logger(_ config: AppConfiguration, label: String = "trainyard") -> Logger {
        let level = Logger.Level(rawValue: config.logLevel.rawValue) ?? .info
        LoggingSystem.bootstrap { name in
            switch config.logFormat {
            case .json:
                var handler = JSONLogHandler(label: name)
                handler.logLevel = level
                return handler
            case .text:
                var handler = StreamLogHandler.standardError(label: name)
                handler.logLevel = level
                return handler
            }
        }
        return Logger(label: label)
    }

    /// The one place that picks a database driver.
    static func openDatabase(_ config: AppConfiguration, logger: Logger) throws -> Database {
        if let url = config.databaseURL {
            guard config.usesPostgres else {
                throw AppConfiguration.Invalid(description: "DATABASE_URL must start with postgres:// or postgresql://")
            }
            logger.info("using PostgreSQL")
            return try PostgresDatabase(url: url, statementTimeoutMs: config.statementTimeoutMs)
        }
        logger.info("using SQLite", metadata: ["path": "\(config.sqlitePath)"])
        // The database holds password hashes and sessions: only its owner may read it, and so
        // the -wal and -shm files SQLite creates next to it.
        umask(0o077)
        for suffix in ["", "-wal", "-shm"] { chmod(config.sqlitePath + suffix, 0o600) }
        return try SQLiteDatabase(path: config.sqlitePath, statementTimeoutMs: config.statementTimeoutMs)
    }

    static func migrate(_ database: Database, logger: Logger) throws {
        let applied = try Migrator(database: database, migrations: Schema.migrations(for: database.dialect)).migrate()
        for migration in applied {
            logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
    }

    /// Prints a one-line reason and exits non-zero instead of a stack trace.
    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("trainyard: \(message)\n".utf8))
        exit(1)
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply migrations and serve the web console.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Address to listen on (env HOST, default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on; 0 picks a free one (env PORT, default 8080).") var port: Int?
    @Option(name: .customLong("sim-speed"), help: "Pace of simulated training and replica start-up (env TRAINYARD_SIM_SPEED, default 1).")
    var simSpeed: Double?
    @Option(name: .customLong("worker-threads"), help: "Threads that run request handlers (default 16).") var workerThreads: Int?
    @Option(name: .customLong("running-handlers"), help: "Handlers on the CPU at once; one waiting on the database steps aside (default: 2 per core + 1; 0: no limit).")
    var runningHandlers: Int?
    @Option(name: .customLong("max-connections"), help: "Open connections before new ones get 503 (default 4096).") var maxConnections: Int?
    @Option(name: .customLong("max-body-bytes"), help: "Largest request body accepted (default 1048576).") var maxBodyBytes: Int?
    @Option(name: .customLong("head-timeout"), help: "Seconds a client has to send request headers (default 10).") var headTimeout: Double?
    @Option(name: .customLong("keep-alive-timeout"), help: "Seconds an idle keep-alive connection stays open (default 5).") var keepAliveTimeout: Double?
    @Option(name: .customLong("trusted-proxies"), help: "Proxy addresses whose X-Forwarded-For/-Proto are believed, comma-separated (env TRAINYARD_TRUSTED_PROXIES).")
    var trustedProxies: String?
    @Flag(name: .customLong("secure-cookies"), help: "Mark cookies Secure, for a server behind TLS (env TRAINYARD_SECURE_COOKIES).")
    var secureCookies = false
    @Option(name: .customLong("body-timeout"), help: "Seconds a whole request body may take to arrive (default 60).") var bodyTimeout: Double?
    @Option(name: .customLong("scrape-allow"),
            help: "Hosts, addresses and CIDRs metrics may be scraped from, comma-separated (env TRAINYARD_SCRAPE_ALLOW, default loopback).")
    var scrapeAllow: String?
    @Option(name: .customLong("assets-dir"),
            help: "Directory holding Templates/, Public/ and Docs/ (env TRAINYARD_ASSETS_DIR; default: ../share/trainyard beside the executable, or the checkout it was built in).")
    var assetsDirectory: String?
    @Option(name: .customLong("max-connections-per-client"),
            help: "Open connections one client address may hold; trusted proxies are exempt; 0 = no cap (default 64).")
    var maxConnectionsPerClient: Int?
    @Option(name: .customLong("max-connection-lifetime"), help: "Seconds a connection may be reused before it is closed (default 300).")
    var maxConnectionLifetime: Double?
    @Option(name: .customLong("max-queued-requests"), help: "Requests waiting for a worker before new ones get 503 (default 1024).")
    var maxQueuedRequests: Int?
    @Option(name: .customLong("max-queue-wait"), help: "Seconds a request may wait for a worker before it gets 503 unrun (default 30).")
    var maxQueueWait: Double?
    @Option(name: .customLong("gzip-level"), help: "zlib level 1–9 for gzip responses to clients that accept it; 0 = off (default 4).")
    var gzipLevel: Int?
    @Option(name: .customLong("metrics-port"),
            help: "Serve Prometheus metrics at /metrics on this port, apart from the app (default: off; 0 picks a free one).")
    var metricsPort: Int?
    @Option(name: .customLong("metrics-host"), help: "Address the metrics port listens on (default 127.0.0.1).")
    var metricsHost = "127.0.0.1"
    @Option(name: .customLong("statement-timeout-ms"), help: "Longest a database statement may run, in ms (env TRAINYARD_STATEMENT_TIMEOUT_MS, default 15000).")
    var statementTimeoutMs: Int?

    func run() throws {
        var config: AppConfiguration
        do {
            config = try common.resolve()
            if let host { config.host = host }
            if let port { config.port = try AppConfiguration.parsePort(String(port), source: "--port") }
            if secureCookies { config.secureCookies = true }
            if let trustedProxies { config.trustedProxies = AppConfiguration.parseList(trustedProxies) }
            if let simSpeed { config.simulationSpeed = try AppConfiguration.parseSpeed(String(simSpeed), source: "--sim-speed") }
            if let scrapeAllow { config.scrapeAllowlist = try AppConfiguration.parseAllowlist(scrapeAllow, source: "--scrape-allow") }
            if let assetsDirectory { config.assetsDirectory = assetsDirectory }
            if let statementTimeoutMs {
                guard (100...3_600_000).contains(statementTimeoutMs) else {
                    throw AppConfiguration.Invalid(description: "--statement-timeout-ms must be from 100 to 3600000, got \(statementTimeoutMs)")
                }
                config.statementTimeoutMs = statementTimeoutMs
            }
            AssetLocation.apply(try AssetLocation.find(explicit: config.assetsDirectory).get(), to: &config)
        } catch {
            Bootstrap.fail("\(error)")
        }
        let logger = Bootstrap.logger(config)
        let database: Database
        let app: TrainyardApp
        let firstAdmin: (username: String, password: String)?
        do {
            database = try Bootstrap.openDatabase(config, logger: logger)
            try Bootstrap.migrate(database, logger: logger)
            let secret = try SecretKey.resolve(configured: config.secretKey, dataDirectory: config.dataDirectory)
            app = try TrainyardApp(configuration: config, database: database, secret: secret, logger: logger)
            firstAdmin = try AccountCommands.createFirstAdmin(database)
        } catch {
            Bootstrap.fail("cannot start: \(error)")
        }

        var server = ServerConfiguration()
        server.host = config.host
        server.port = config.port
        if let workerThreads { server.workerThreads = max(1, workerThreads) }
        if let runningHandlers { server.runningHandlers = max(0, runningHandlers) }
        if let maxConnections { server.maxConnections = max(1, maxConnections) }
        if let maxBodyBytes { server.maxBodyBytes = max(0, maxBodyBytes) }
        if let headTimeout { server.headTimeout = max(0.1, headTimeout) }
        if let keepAliveTimeout { server.keepAliveTimeout = max(0.1, keepAliveTimeout) }
        if let bodyTimeout { server.bodyTimeout = max(0.1, bodyTimeout) }
        if let maxConnectionsPerClient { server.maxConnectionsPerClient = max(0, maxConnectionsPerClient) }
        if let maxConnectionLifetime { server.maxConnectionLifetime = max(1, maxConnectionLifetime) }
        if let maxQueuedRequests { server.maxQueuedRequests = max(1, maxQueuedRequests) }
        if let maxQueueWait { server.maxQueueWait = max(0.1, maxQueueWait) }
        if let gzipLevel { server.compressionLevel = min(9, max(0, gzipLevel)) }
        // A reverse proxy carries every user's connections from its one address.
        let proxies = Set(config.trustedProxies)
        let isProxy: @Sendable (String) -> Bool = { address in
            proxies.contains(address.hasPrefix("[") ? String(address.dropFirst().dropLast()) : address)
        }
        server.connectionCapExempt = isProxy
        // A proxy's request id ties its log lines to ours; anyone else's is ignored.
        server.requestIDTrusted = isProxy

        let http = HTTPServer(configuration: server, responder: app, logger: logger)
        do {
            try http.start()
        } catch {
            Bootstrap.fail("cannot listen on \(config.host):\(config.port): \(error)")
        }
        let background = app.startBackgroundWork()
        let metricsServer = startMetricsServer(app: app, http: http, background: background, logger: logger)
        installShutdownSignalHandlers {
            logger.info("shutting down")
            background.stop()
            metricsServer?.shutdown()
            http.shutdown()
        }
        logger.info("Trainyard is listening", metadata: ["url": "http://\(config.host):\(http.port)"])
        if let firstAdmin {
            // Shown once, like a notebook server's token: there was no admin, so one was made.
            print("""

                Trainyard has no admin yet, so one was created. Sign in at
                    http://\(config.host):\(http.port)/login
                    user name: \(firstAdmin.username)
                    password:  \(firstAdmin.password)
                This password is not shown again; change it under Settings or with `trainyard set-password`.

                """)
            fflush(stdout)
        }
        http.waitUntilStopped()
        metricsServer?.waitUntilStopped()
        background.waitUntilStopped()
        database.close()
        logger.info("stopped")
    }
}

extension Serve {
    /// The metrics listener, on a port of its own so the app's port never exposes it; nil when off.
    func startMetricsServer(app: TrainyardApp, http: HTTPServer, background: BackgroundWork, logger: Logger) -> HTTPServer? {
        guard let metricsPort else { return nil }
        let exposition = MetricsExposition(app: app.metrics, server: { http.stats() }, database: app.database, background: background)
        let router = Router()
        router.get("/metrics") { _ in
            var response = HTTPResponse.text(exposition.render())
            response.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            return response
        }
        var configuration = ServerConfiguration()
        configuration.host = metricsHost
        configuration.port = metricsPort
        configuration.workerThreads = 2
        configuration.maxConnections = 64
        let server = HTTPServer(configuration: configuration, responder: router, logger: logger)
        do {
            try server.start()
        } catch {
            Bootstrap.fail("cannot listen for metrics on \(metricsHost):\(metricsPort): \(error)")
        }
        logger.info("metrics are served", metadata: ["url": "http://\(metricsHost):\(server.port)/metrics"])
        return server
    }
}

extension Bootstrap {
    /// For one-shot commands: reads the configuration, opens and migrates the database, runs
    /// `body`, closes the database; any failure exits with "`failure`: reason".
    static func withMigratedDatabase(_ common: CommonOptions, failure: String, _ body: (Database, Logger) throws -> Void) {
        let config: AppConfiguration
        do { config = try common.resolve() } catch { fail("\(error)") }
        let logger = self.logger(config)
        do {
            let database = try openDatabase(config, logger: logger)
            defer { database.close() }
            try migrate(database, logger: logger)
            try body(database, logger)
        } catch {
            fail("\(failure): \(error)")
        }
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations and exit.")

    @OptionGroup var common: CommonOptions

    func run() throws {
        Bootstrap.withMigratedDatabase(common, failure: "migration failed") { _, logger in
            logger.info("database is up to date")
        }
    }
}

struct SeedDemo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-demo",
        abstract: "Fill an empty database with demo models, jobs and deployments (does nothing if data exists)."
    )

    @OptionGroup var common: CommonOptions

    func run() throws {
        Bootstrap.withMigratedDatabase(common, failure: "seeding failed") { database, logger in
            let summary = try DemoData.seed(database, now: Date())
            logger.info("\(summary)")
        }
    }
}

/// Hidden: fills a database with many deployments for `bench/deployments.sh`.
struct BenchLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-load",
        abstract: "Insert ROWS benchmark deployments (with their jobs, resources, replicas and history).",
        shouldDisplay: false
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "How many deployments to insert.") var rows: Int = 100_000
    @Option(name: .customLong("audit-rows"), help: "Insert this many audit entries instead of deployments.") var auditRows: Int?

    func run() throws {
        Bootstrap.withMigratedDatabase(common, failure: "bulk load failed") { database, logger in
            let started = Date()
            let report: (Int) -> Void = { done in
                if done % 100_000 == 0 { logger.info("loaded", metadata: ["rows": "\(done)"]) }
            }
            let summary = if let auditRows {
                try AuditBulkLoader.load(database, rows: max(0, auditRows), progress: report)
            } else {
                try DeploymentBulkLoader.load(database, rows: max(0, rows), progress: report)
            }
            logger.info("\(summary) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        }
    }
}

struct CreateUser: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-user", abstract: "Create a user; the password is read from standard input.")

    @OptionGroup var common: CommonOptions
    @Option(help: "1–64 of a–z, 0–9, '.', '_', '-'.") var username: String
    @Option(help: "viewer, operator or admin.") var role: String
    @Option(name: .customLong("display-name"), help: "The name pages show.") var displayName: String = ""
    @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input (required).") var passwordStdin = false

    func run() throws {
        guard passwordStdin else { Bootstrap.fail("give the password on standard input with --password-stdin") }
        let password = AccountCommands.passwordFromStandardInput()
        Bootstrap.withMigratedDatabase(common, failure: "cannot create user") { database, _ in
            print(try AccountCommands.createUser(database, username: username, role: role, displayName: displayName, password: password))
        }
    }
}

struct SetPassword: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-password", abstract: "Set a user's password (read from standard input) and end their sessions.")

    @OptionGroup var common: CommonOptions
    @Option var username: String
    @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input (required).") var passwordStdin = false

    func run() throws {
        guard passwordStdin else { Bootstrap.fail("give the password on standard input with --password-stdin") }
        let password = AccountCommands.passwordFromStandardInput()
        Bootstrap.withMigratedDatabase(common, failure: "cannot set password") { database, _ in
            print(try AccountCommands.setPassword(database, username: username, password: password))
        }
    }
}
