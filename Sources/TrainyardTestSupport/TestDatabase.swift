import Foundation
import Storage
import StoragePostgres
import StorageSQLite

/// The databases every storage-touching test runs on.
public enum TestDatabaseKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres

    /// The kinds to test: both, unless `TRAINYARD_SKIP_POSTGRES=1` says explicitly to skip
    /// PostgreSQL. Without that variable and without a server, PostgreSQL tests fail with
    /// instructions instead of disappearing.
    public static var enabled: [TestDatabaseKind] {
        TestEnvironment.skipPostgres ? [.sqlite] : [.sqlite, .postgres]
    }

    public var description: String { rawValue }
}

/// Environment switches read by the test support.
public enum TestEnvironment {
    /// `TRAINYARD_TEST_POSTGRES_URL`, set by `scripts/with-postgres.sh`.
    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment["TRAINYARD_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `TRAINYARD_TEST_POSTGRES_CTL`: a command taking `start|stop|restart`.
    public static var postgresControl: String? {
        ProcessInfo.processInfo.environment["TRAINYARD_TEST_POSTGRES_CTL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// True only when `TRAINYARD_SKIP_POSTGRES=1`.
    public static var skipPostgres: Bool {
        ProcessInfo.processInfo.environment["TRAINYARD_SKIP_POSTGRES"] == "1"
    }
}

/// Why a PostgreSQL test database could not be made.
public struct TestDatabaseSetupError: Error, CustomStringConvertible {
    public let description: String
}

/// An isolated, empty database: a fresh temporary SQLite file, or a fresh PostgreSQL schema
/// (`t_<random>`) that every pooled connection uses as its `search_path`. Closing it (or
/// dropping the last reference) deletes the file or drops the schema.
///
/// ```swift
/// @Test(arguments: TestDatabaseKind.enabled)
/// func roundTrip(_ kind: TestDatabaseKind) throws {
///     let db = try makeTestDatabase(kind)
///     defer { db.close() }
/// }
/// ```
public func makeTestDatabase(_ kind: TestDatabaseKind, poolSize: Int? = nil, acquireTimeout: Double? = nil,
                             statementTimeoutMs: Int = 15000, sharingRestartGate: Bool = true) throws -> Database {
    switch kind {
    case .sqlite:
        return try SQLiteDatabase.temporary(poolSize: poolSize ?? 8, statementTimeoutMs: statementTimeoutMs)
    case .postgres:
        guard let base = TestEnvironment.postgresURL else {
            throw TestDatabaseSetupError(description: """
                TRAINYARD_TEST_POSTGRES_URL is not set, so the PostgreSQL half of this test cannot run. \
                Run the tests through the throwaway server: `scripts/with-postgres.sh swift test`. \
                To skip PostgreSQL deliberately on a machine without it, set TRAINYARD_SKIP_POSTGRES=1.
                """)
        }
        if sharingRestartGate { PostgresTestServer.gate.acquireShared() }
        do {
            let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
            do {
                try PostgresTestServer.admin(base).execute("CREATE SCHEMA \(schema)")
            } catch DatabaseError.unavailable {
                // A stale pooled connection (server restarted by someone else): one retry.
                try PostgresTestServer.admin(base).execute("CREATE SCHEMA \(schema)")
            }
            let url = base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3D\(schema)"
            let inner = try PostgresDatabase(url: url, poolSize: poolSize ?? 10, acquireTimeout: acquireTimeout ?? 5,
                                             statementTimeoutMs: statementTimeoutMs)
            return PostgresTestDatabase(inner: inner, schema: schema, baseURL: base, holdsGate: sharingRestartGate)
        } catch {
            if sharingRestartGate { PostgresTestServer.gate.releaseShared() }
            throw error
        }
    }
}

/// Forwards to a `PostgresDatabase` and drops its schema when closed or released.
final class PostgresTestDatabase: Database, @unchecked Sendable {
    let inner: PostgresDatabase
    let schema: String
    let baseURL: String
    private let lock = NSLock()
    private var holdsGate: Bool
    private var closed = false

    init(inner: PostgresDatabase, schema: String, baseURL: String, holdsGate: Bool) {
        self.inner = inner
        self.schema = schema
        self.baseURL = baseURL
        self.holdsGate = holdsGate
    }

    deinit { close() }

    var dialect: SQLDialect { inner.dialect }
    func query(_ sql: String, _ parameters: [SQLValue]) throws -> [Row] { try inner.query(sql, parameters) }
    func queryPlannedPerRun(_ sql: String, _ parameters: [SQLValue]) throws -> [Row] { try inner.queryPlannedPerRun(sql, parameters) }
    @discardableResult
    func execute(_ sql: String, _ parameters: [SQLValue]) throws -> Int { try inner.execute(sql, parameters) }
    func transaction<T>(_ body: (DatabaseConnection) throws -> T) throws -> T { try inner.transaction(body) }
    func ping() throws { try inner.ping() }
    var poolStats: PoolStats? { inner.poolStats }

    func close() {
        lock.lock()
        let first = !closed
        closed = true
        let releaseGate = holdsGate
        holdsGate = false
        lock.unlock()
        guard first else { return }
        inner.close()
        _ = try? PostgresTestServer.admin(baseURL).execute("DROP SCHEMA IF EXISTS \(schema) CASCADE")
        if releaseGate { PostgresTestServer.gate.releaseShared() }
    }
}

/// The throwaway server started by `scripts/with-postgres.sh`.
public enum PostgresTestServer {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var adminDatabase: PostgresDatabase?

    /// Held shared by every open PostgreSQL test database and exclusively around a server
    /// restart, so a restart test never breaks the other tests running in parallel.
    public static let gate = SharedExclusiveGate()

    static func admin(_ url: String) throws -> PostgresDatabase {
        lock.lock()
        defer { lock.unlock() }
        if let adminDatabase { return adminDatabase }
        let db = try PostgresDatabase(url: url, poolSize: 4)
        adminDatabase = db
        return db
    }

    /// Runs `TRAINYARD_TEST_POSTGRES_CTL <action>` and waits for it (`start`, `stop`, `restart`).
    public static func control(_ action: String) throws {
        guard let command = TestEnvironment.postgresControl else {
            throw TestDatabaseSetupError(description: "TRAINYARD_TEST_POSTGRES_CTL is not set; run the tests through scripts/with-postgres.sh")
        }
        // posix_spawn + waitpid rather than Foundation.Process: simpler, and nothing else in the
        // test process competes for the child's exit status.
        let arguments = ["/bin/sh", "-c", "\(command) \(action)"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ)
        guard spawned == 0 else {
            throw TestDatabaseSetupError(description: "cannot run `\(command) \(action)`: error \(spawned)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // The admin pool's connections died with the old server process.
        lock.lock()
        let stale = adminDatabase
        adminDatabase = nil
        lock.unlock()
        stale?.close()
        guard status == 0 else {
            throw TestDatabaseSetupError(description: "`\(command) \(action)` failed with wait status \(status)")
        }
    }

    /// Runs `body` while no other PostgreSQL test database is open (waits for them to close).
    /// Inside, make databases with `sharingRestartGate: false`.
    public static func exclusively<T>(_ body: () throws -> T) throws -> T {
        guard gate.acquireExclusive(timeout: 600) else {
            throw TestDatabaseSetupError(description: "other PostgreSQL test databases stayed open for 10 minutes; cannot restart the server")
        }
        defer { gate.releaseExclusive() }
        return try body()
    }
}

/// A readers–writer gate without writer preference: exclusive holders wait until no shared
/// holder is left, and never block a shared holder that wants a second database.
public final class SharedExclusiveGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var shared = 0
    private var exclusive = false

    public init() {}

    public func acquireShared() {
        condition.lock()
        while exclusive { condition.wait() }
        shared += 1
        condition.unlock()
    }

    public func releaseShared() {
        condition.lock()
        shared -= 1
        condition.broadcast()
        condition.unlock()
    }

    public func acquireExclusive(timeout: TimeInterval) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while exclusive || shared > 0 {
            if !condition.wait(until: deadline) { return false }
        }
        exclusive = true
        return true
    }

    public func releaseExclusive() {
        condition.lock()
        exclusive = false
        condition.broadcast()
        condition.unlock()
    }
}

/// A second, independent connection pool onto the same test database: the same SQLite file or
/// the same PostgreSQL schema. Stands for a second `serve` process. Closing it leaves the data.
public func reopenTestDatabase(_ database: Database) throws -> Database {
    if let sqlite = database as? SQLiteDatabase {
        return try SQLiteDatabase(path: sqlite.path)
    }
    if let url = connectionURL(of: database) {
        return try PostgresDatabase(url: url)
    }
    throw TestDatabaseSetupError(description: "cannot reopen a \(type(of: database))")
}

/// The `DATABASE_URL` another process would use to reach this PostgreSQL test database (its
/// schema included), or nil for SQLite.
public func connectionURL(of database: Database) -> String? {
    guard let postgres = database as? PostgresTestDatabase else { return nil }
    return postgres.baseURL + (postgres.baseURL.contains("?") ? "&" : "?") + "options=-csearch_path%3D\(postgres.schema)"
}
