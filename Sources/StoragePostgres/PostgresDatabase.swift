import CLibPQ
import Foundation
import Storage

/// The production driver: a bounded, lazily filled pool of libpq connections.
///
/// Acquiring a connection waits at most `acquireTimeout` seconds and then throws
/// `.unavailable`, so a saturated or unreachable server turns into 503s, never hung requests.
/// Connections that fail or are left inside a transaction are closed instead of being reused;
/// after a server restart the next calls connect afresh.
///
/// ```swift
/// let db = try PostgresDatabase(url: "postgres://trainyard@db:5432/trainyard?sslmode=disable")
/// ```
public final class PostgresDatabase: Database, @unchecked Sendable {
    public let dialect: SQLDialect = .postgres

    private let pool: ConnectionPool<PostgresConnection>

    public var poolStats: PoolStats? { pool.stats }

    /// Configures the pool and checks the server by opening one connection.
    ///
    /// `url` is a `postgres://` or `postgresql://` URI (or a libpq keyword string); a
    /// `connect_timeout` is added unless present. Every connection sets the statement, lock and
    /// idle-in-transaction timeouts and `TimeZone = 'UTC'`.
    public init(url: String, poolSize: Int = 10, acquireTimeout: Double = 5, statementTimeoutMs: Int = 15000,
                lockTimeoutMs: Int = 5000, idleInTransactionTimeoutMs: Int = 30000, connectTimeoutSeconds: Int = 5) throws {
        let conninfo = Self.conninfo(url: url, connectTimeoutSeconds: connectTimeoutSeconds)
        let setup = """
            SET statement_timeout = \(max(0, statementTimeoutMs));
            SET lock_timeout = \(max(0, lockTimeoutMs));
            SET idle_in_transaction_session_timeout = \(max(0, idleInTransactionTimeoutMs));
            SET TimeZone = 'UTC';
            """
        let first = try PostgresConnection(conninfo: conninfo, setup: setup)
        self.pool = ConnectionPool(name: "PostgreSQL", size: poolSize, acquireTimeout: acquireTimeout, first: first,
                                   open: { try PostgresConnection(conninfo: conninfo, setup: setup) }, close: { $0.close() })
    }

    deinit { close() }

    static func conninfo(url: String, connectTimeoutSeconds: Int) -> String {
        guard !url.contains("connect_timeout") else { return url }
        let timeout = max(1, connectTimeoutSeconds)
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return url + (url.contains("?") ? "&" : "?") + "connect_timeout=\(timeout)"
        }
        return url + " connect_timeout=\(timeout)"
    }

    // MARK: Pool

    /// Connections that fail or are left inside a transaction are closed instead of reused. One
    /// dead connection usually means the server went away (restart, failover): the idle ones are
    /// dead too, so they are dropped rather than failing one request each.
    private func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try pool.acquire()
        defer { pool.release(connection, reusable: connection.isReusable, dropIdle: connection.broken) }
        return try body(connection)
    }

    // MARK: Database

    public func query(_ sql: String, _ parameters: [SQLValue]) throws -> [Row] {
        try withConnection { try $0.query(sql, parameters) }
    }

    public func queryPlannedPerRun(_ sql: String, _ parameters: [SQLValue]) throws -> [Row] {
        try withConnection { try $0.query(sql, parameters, prepared: false) }
    }

    @discardableResult
    public func execute(_ sql: String, _ parameters: [SQLValue]) throws -> Int {
        try withConnection { try $0.execute(sql, parameters) }
    }

    public func transaction<T>(_ body: (DatabaseConnection) throws -> T) throws -> T {
        try withConnection { connection in
            try connection.executeScript("BEGIN")
            let result: T
            do {
                result = try body(connection)
            } catch {
                if connection.inTransaction { _ = try? connection.executeScript("ROLLBACK") }
                throw error
            }
            let tag: String
            do {
                tag = try connection.command("COMMIT")
            } catch {
                if connection.inTransaction { _ = try? connection.executeScript("ROLLBACK") }
                throw error
            }
            // COMMIT of a transaction that had a failed statement (whose error the body
            // swallowed) silently rolls back; surface it instead of pretending it committed.
            if tag == "ROLLBACK" {
                throw DatabaseError.query(message: "the transaction was rolled back because a statement in it failed", sql: "COMMIT")
            }
            return result
        }
    }

    public func ping() throws {
        _ = try query("SELECT 1")
    }

    public func close() {
        pool.close()
    }
}
