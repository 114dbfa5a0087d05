/// One connection, handed to a `Database.transaction` body. Not thread-safe: use it only inside
/// the body, on the thread that runs it.
public protocol DatabaseConnection: AnyObject {
    /// The SQL dialect of this connection.
    var dialect: SQLDialect { get }
    /// Runs one statement with `$1, $2 …` placeholders and returns its rows.
    func query(_ sql: String, _ parameters: [SQLValue]) throws -> [Row]
    /// Runs one statement and returns the number of affected rows.
    @discardableResult func execute(_ sql: String, _ parameters: [SQLValue]) throws -> Int
    /// Runs several statements without parameters. For migrations only.
    func executeScript(_ sql: String) throws
}

/// A pool of connections, safe to use from many threads at once.
///
/// ```swift
/// let id = try db.transaction { conn in
///     let row = try conn.query("INSERT INTO models (slug, name) VALUES ($1, $2) RETURNING id", [.text(s), .text(n)])
///     return try row[0].int("id")
/// }
/// ```
public protocol Database: AnyObject {
    /// The SQL dialect of this database.
    var dialect: SQLDialect { get }
    /// Runs one statement in autocommit mode on any pooled connection.
    func query(_ sql: String, _ parameters: [SQLValue]) throws -> [Row]
    /// `query` for a statement whose best plan depends on its values (a search pattern): it is
    /// planned for them on every run. PostgreSQL otherwise keeps a prepared statement's generic
    /// plan once it looks no dearer, and for a pattern that plan can be 20× slower; SQLite plans
    /// each statement when it is prepared, whatever the values, so it runs `query`.
    func queryPlannedPerRun(_ sql: String, _ parameters: [SQLValue]) throws -> [Row]
    /// Runs one statement in autocommit mode and returns the number of affected rows.
    @discardableResult func execute(_ sql: String, _ parameters: [SQLValue]) throws -> Int
    /// Runs `body` inside `BEGIN` (`BEGIN IMMEDIATE` on SQLite) … `COMMIT`; rolls back and
    /// rethrows if `body` throws.
    func transaction<T>(_ body: (DatabaseConnection) throws -> T) throws -> T
    /// `transaction` with foreign keys unenforced until just before `COMMIT`, when every key is
    /// checked and any dangling one rolls the whole transaction back. For migrations that
    /// rebuild a referenced table; PostgreSQL alters tables in place and needs no such mode.
    func transactionWithoutForeignKeys<T>(_ body: (DatabaseConnection) throws -> T) throws -> T
    /// Checks that the database answers (for `/readyz`).
    func ping() throws
    /// Closes every connection; further calls throw `.unavailable`.
    func close()
    /// The connection pool's figures; nil for a database without one.
    var poolStats: PoolStats? { get }
}

extension DatabaseConnection {
    /// `query` without parameters.
    public func query(_ sql: String) throws -> [Row] { try query(sql, []) }
    /// `execute` without parameters.
    @discardableResult public func execute(_ sql: String) throws -> Int { try execute(sql, []) }
    /// The first row, or nil when there is none.
    public func queryOne(_ sql: String, _ parameters: [SQLValue] = []) throws -> Row? {
        try query(sql, parameters).first
    }
}

extension Database {
    public func transactionWithoutForeignKeys<T>(_ body: (DatabaseConnection) throws -> T) throws -> T {
        try transaction(body)
    }

    /// `query` without parameters.
    public func query(_ sql: String) throws -> [Row] { try query(sql, []) }
    /// `execute` without parameters.
    @discardableResult public func execute(_ sql: String) throws -> Int { try execute(sql, []) }
    /// The first row, or nil when there is none.
    public func queryOne(_ sql: String, _ parameters: [SQLValue] = []) throws -> Row? {
        try query(sql, parameters).first
    }
}

extension Database {
    public var poolStats: PoolStats? { nil }
    public func queryPlannedPerRun(_ sql: String, _ parameters: [SQLValue]) throws -> [Row] { try query(sql, parameters) }
}
