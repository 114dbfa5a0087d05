import CSQLite
import Foundation
import RunSlots
import Storage

/// The embedded driver: a small pool of WAL-mode connections to one SQLite file.
///
/// Readers run concurrently under WAL. Writers (`transaction`, `execute`) first take an
/// in-process writer lock and then `BEGIN IMMEDIATE`, so concurrent writers queue instead of
/// meeting `SQLITE_BUSY` halfway through a transaction; `busy_timeout` still covers other
/// processes.
///
/// ```swift
/// let db = try SQLiteDatabase(path: "data/trainyard.sqlite")
/// ```
public final class SQLiteDatabase: Database, @unchecked Sendable {
    public let dialect: SQLDialect = .sqlite
    /// The database file.
    public let path: String

    private let busyTimeoutMs: Int32
    private let pool: ConnectionPool<SQLiteConnection>

    public var poolStats: PoolStats? { pool.stats }
    private let writerLock = NSLock()
    private let removeOnClose: String?

    /// Opens (creating if needed, with its parent directory) the database at `path`.
    /// `:memory:` gets a single connection, since each in-memory connection is its own database.
    /// `statementTimeoutMs` bounds each statement, like PostgreSQL's `statement_timeout`; one
    /// that runs past it fails with `DatabaseError.timeout`.
    public init(path: String, poolSize: Int = 8, busyTimeoutMs: Int = 5000, acquireTimeout: TimeInterval = 10,
                statementTimeoutMs: Int = 15000) throws {
        let timeout = Int32(clamping: busyTimeoutMs)
        self.path = path
        self.busyTimeoutMs = timeout
        self.removeOnClose = nil
        try Self.createParentDirectory(of: path)
        // Open one connection now so a bad path fails here, not on the first request.
        let first = try SQLiteConnection(path: path, busyTimeoutMs: timeout, statementTimeoutMs: statementTimeoutMs)
        self.pool = ConnectionPool(name: "SQLite", size: path == ":memory:" ? 1 : poolSize, acquireTimeout: acquireTimeout,
                                   first: first, open: { try SQLiteConnection(path: path, busyTimeoutMs: timeout, statementTimeoutMs: statementTimeoutMs) },
                                   close: { $0.close() })
    }

    private init(temporaryDirectory: String, poolSize: Int, statementTimeoutMs: Int) throws {
        let path = temporaryDirectory + "/test.sqlite"
        self.path = path
        self.busyTimeoutMs = 5000
        self.removeOnClose = temporaryDirectory
        let first = try SQLiteConnection(path: path, busyTimeoutMs: 5000, statementTimeoutMs: statementTimeoutMs)
        self.pool = ConnectionPool(name: "SQLite", size: poolSize, acquireTimeout: 10, first: first,
                                   open: { try SQLiteConnection(path: path, busyTimeoutMs: 5000, statementTimeoutMs: statementTimeoutMs) },
                                   close: { $0.close() })
    }

    /// A database in a fresh temporary directory, deleted on `close()`.
    public static func temporary(poolSize: Int = 8, statementTimeoutMs: Int = 15000) throws -> SQLiteDatabase {
        let directory = NSTemporaryDirectory() + "/trainyard-" + UUID().uuidString.lowercased()
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw DatabaseError.unavailable("cannot create temporary directory \(directory): \(error)")
        }
        return try SQLiteDatabase(temporaryDirectory: directory, poolSize: poolSize, statementTimeoutMs: statementTimeoutMs)
    }

    deinit { close() }

    private static func createParentDirectory(of path: String) throws {
        guard path != ":memory:", !path.hasPrefix("file:") else { return }
        let parent = (path as NSString).deletingLastPathComponent
        guard !parent.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw DatabaseError.unavailable("cannot create directory \(parent) for the SQLite database: \(error)")
        }
    }

    // MARK: Pool

    private func withConnection<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        let connection = try pool.acquire()
        // A connection left inside a transaction (failed ROLLBACK) must not be reused.
        defer { pool.release(connection, reusable: !connection.inTransaction) }
        return try body(connection)
    }

    private func withWriterLock<T>(_ body: () throws -> T) throws -> T {
        let wait = max(2 * Double(busyTimeoutMs) / 1000, 1)
        // Contended, the wait steps aside from its running slot: the writer may need one.
        guard writerLock.try() || RunSlots.whileBlocked({ writerLock.lock(before: Date(timeIntervalSinceNow: wait)) }) else {
            throw DatabaseError.timeout("waited \(wait) s for the SQLite write lock")
        }
        defer { writerLock.unlock() }
        return try body()
    }

    // MARK: Database

    public func query(_ sql: String, _ parameters: [SQLValue]) throws -> [Row] {
        try withConnection { try $0.query(sql, parameters) }
    }

    @discardableResult
    public func execute(_ sql: String, _ parameters: [SQLValue]) throws -> Int {
        try withWriterLock {
            try withConnection { try $0.execute(sql, parameters) }
        }
    }

    public func transaction<T>(_ body: (DatabaseConnection) throws -> T) throws -> T {
        // Writer lock before the connection: a thread waiting for the lock holds no connection,
        // so the lock holder can always get one.
        try withWriterLock {
            try withConnection { connection in try Self.immediateTransaction(connection, body) }
        }
    }

    public func transactionWithoutForeignKeys<T>(_ body: (DatabaseConnection) throws -> T) throws -> T {
        try withWriterLock {
            try withConnection { connection in
                // The pragma is a no-op inside a transaction, so it is set around it.
                try connection.execute("PRAGMA foreign_keys = OFF")
                defer { _ = try? connection.execute("PRAGMA foreign_keys = ON") }
                return try Self.immediateTransaction(connection, body) {
                    if let dangling = try connection.query("PRAGMA foreign_key_check").first {
                        throw DatabaseError.foreignKeyViolation(
                            message: "a row of \((try? dangling.string("table")) ?? "a table") refers to a missing \((try? dangling.string("parent")) ?? "row")")
                    }
                }
            }
        }
    }

    /// `BEGIN IMMEDIATE`, `body`, `check`, `COMMIT`; a rollback if any of them throws.
    private static func immediateTransaction<T>(_ connection: SQLiteConnection, _ body: (DatabaseConnection) throws -> T,
                                                beforeCommit check: () throws -> Void = {}) throws -> T {
        try connection.execute("BEGIN IMMEDIATE")
        do {
            let result = try body(connection)
            try check()
            try connection.execute("COMMIT")
            return result
        } catch {
            if connection.inTransaction {
                _ = try? connection.execute("ROLLBACK")
            }
            throw error
        }
    }

    public func ping() throws {
        _ = try query("SELECT 1")
    }

    public func close() {
        pool.close()
        if let removeOnClose {
            try? FileManager.default.removeItem(atPath: removeOnClose)
        }
    }
}
