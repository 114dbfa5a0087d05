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

    private let conninfo: String
    private let setup: String
    private let poolSize: Int
    private let acquireTimeout: Double
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    private var openCount = 0
    private var closed = false

    /// Configures the pool and checks the server by opening one connection.
    ///
    /// `url` is a `postgres://` or `postgresql://` URI (or a libpq keyword string); a
    /// `connect_timeout` is added unless present. Every connection sets the statement, lock and
    /// idle-in-transaction timeouts and `TimeZone = 'UTC'`.
    public init(url: String, poolSize: Int = 10, acquireTimeout: Double = 5, statementTimeoutMs: Int = 15000,
                lockTimeoutMs: Int = 5000, idleInTransactionTimeoutMs: Int = 30000, connectTimeoutSeconds: Int = 5) throws {
        self.conninfo = Self.conninfo(url: url, connectTimeoutSeconds: connectTimeoutSeconds)
        self.poolSize = max(1, poolSize)
        self.acquireTimeout = acquireTimeout
        self.setup = """
            SET statement_timeout = \(max(0, statementTimeoutMs));
            SET lock_timeout = \(max(0, lockTimeoutMs));
            SET idle_in_transaction_session_timeout = \(max(0, idleInTransactionTimeoutMs));
            SET TimeZone = 'UTC';
            """
        let first = try PostgresConnection(conninfo: conninfo, setup: setup)
        idle.append(first)
        openCount = 1
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

    private func acquire() throws -> PostgresConnection {
        let deadline = Date(timeIntervalSinceNow: acquireTimeout)
        condition.lock()
        while true {
            if closed {
                condition.unlock()
                throw DatabaseError.unavailable("the database has been closed")
            }
            if let connection = idle.popLast() {
                condition.unlock()
                return connection
            }
            if openCount < poolSize {
                openCount += 1
                condition.unlock()
                do {
                    return try PostgresConnection(conninfo: conninfo, setup: setup)
                } catch {
                    condition.lock()
                    openCount -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            if !condition.wait(until: deadline) {
                condition.unlock()
                throw DatabaseError.unavailable("all \(poolSize) PostgreSQL connections stayed busy for \(acquireTimeout) s")
            }
        }
    }

    private func release(_ connection: PostgresConnection) {
        let reusable = connection.isReusable
        var stale: [PostgresConnection] = []
        condition.lock()
        if reusable && !closed {
            idle.append(connection)
        } else {
            openCount -= 1
            if connection.broken {
                // One dead connection usually means the server went away (restart, failover):
                // the idle ones are dead too, so drop them rather than fail one request each.
                stale = idle
                idle.removeAll()
                openCount -= stale.count
            }
        }
        condition.broadcast()
        condition.unlock()
        if !reusable { connection.close() }
        for c in stale { c.close() }
    }

    private func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try acquire()
        defer { release(connection) }
        return try body(connection)
    }

    // MARK: Database

    public func query(_ sql: String, _ parameters: [SQLValue]) throws -> [Row] {
        try withConnection { try $0.query(sql, parameters) }
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
        condition.lock()
        closed = true
        let connections = idle
        idle.removeAll()
        openCount -= connections.count
        condition.broadcast()
        condition.unlock()
        for connection in connections { connection.close() }
    }
}
