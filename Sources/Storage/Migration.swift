import Foundation

/// One schema change. Lists are append-only: never edit a migration that has landed.
public struct Migration: Sendable, Equatable {
    /// Strictly increasing, starting anywhere above zero.
    public var version: Int
    /// A short snake_case description, recorded in `schema_migrations`.
    public var name: String
    /// One or more statements in the target dialect, without parameters.
    public var sql: String
    /// True when the migration rebuilds a table that others reference (SQLite's way to change a
    /// column's constraints): it then runs with foreign-key enforcement off, so dropping the
    /// old table neither cascades nor fails, and the keys are checked before it commits.
    public var rebuildsTables: Bool

    public init(version: Int, name: String, sql: String, rebuildsTables: Bool = false) {
        self.version = version
        self.name = name
        self.sql = sql
        self.rebuildsTables = rebuildsTables
    }
}

/// Applies migrations in order, each in its own transaction together with its
/// `schema_migrations` row, so a failure leaves the database at the previous version.
///
/// ```swift
/// try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
/// ```
public struct Migrator {
    public let database: Database
    public let migrations: [Migration]

    public init(database: Database, migrations: [Migration]) {
        self.database = database
        self.migrations = migrations
    }

    /// Versions recorded in `schema_migrations`, ascending (creates the table if needed).
    public func appliedVersions() throws -> [Int] {
        try ensureTable()
        return try database.query("SELECT version FROM schema_migrations ORDER BY version").map { try $0.int("version") }
    }

    /// Migrations not yet applied, in order. Throws if the list is malformed or the database
    /// is newer than this build.
    public func pending() throws -> [Migration] {
        try validateList()
        let applied = try appliedVersions()
        let known = Set(migrations.map(\.version))
        if let newest = applied.last, newest > (migrations.last?.version ?? 0) {
            throw DatabaseError.migration(
                version: newest, name: "unknown",
                message: "the database is at schema version \(newest) but this build only knows up to \(migrations.last?.version ?? 0); refusing to run against a newer schema (upgrade Trainyard)")
        }
        if let stray = applied.first(where: { !known.contains($0) }) {
            throw DatabaseError.migration(
                version: stray, name: "unknown",
                message: "the database records schema version \(stray), which this build does not know")
        }
        let done = Set(applied)
        return migrations.filter { !done.contains($0.version) }
    }

    /// Applies every pending migration and returns the ones applied now.
    ///
    /// Safe to run from several processes at once: on PostgreSQL each migration transaction
    /// takes an advisory lock and re-checks its version; on SQLite `BEGIN IMMEDIATE` serialises.
    @discardableResult
    public func migrate() throws -> [Migration] {
        var applied: [Migration] = []
        for migration in try pending() {
            let ran: Bool
            do {
                let body = { (conn: DatabaseConnection) throws -> Bool in
                    if conn.dialect == .postgres {
                        try conn.execute("SELECT pg_advisory_xact_lock(\(Self.advisoryLock))")
                    }
                    if try conn.queryOne("SELECT 1 AS present FROM schema_migrations WHERE version = $1",
                                         [.int(Int64(migration.version))]) != nil {
                        return false
                    }
                    try conn.executeScript(migration.sql)
                    try conn.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                        [.int(Int64(migration.version)), .text(migration.name), .date(Date())])
                    return true
                }
                ran = migration.rebuildsTables ? try database.transactionWithoutForeignKeys(body) : try database.transaction(body)
            } catch let error as DatabaseError {
                if case .migration = error { throw error }
                throw DatabaseError.migration(
                    version: migration.version, name: migration.name,
                    message: "failed and was rolled back (the database stays at the previous version): \(error)")
            } catch {
                throw DatabaseError.migration(
                    version: migration.version, name: migration.name,
                    message: "failed and was rolled back (the database stays at the previous version): \(error)")
            }
            if ran { applied.append(migration) }
        }
        return applied
    }

    private func validateList() throws {
        var previous = 0
        for m in migrations {
            if m.version <= previous {
                throw DatabaseError.migration(
                    version: m.version, name: m.name,
                    message: "migration versions must be positive and strictly increasing (previous was \(previous))")
            }
            previous = m.version
        }
    }

    /// Creates `schema_migrations` once. On PostgreSQL two processes running
    /// `CREATE TABLE IF NOT EXISTS` at the same moment can both pass the check and one fails on
    /// the catalogue's unique index, so the creation holds the same advisory lock as migrations.
    private func ensureTable() throws {
        let timestampType = database.dialect == .postgres ? "TIMESTAMPTZ" : "INTEGER"
        try database.transaction { conn in
            if conn.dialect == .postgres {
                try conn.execute("SELECT pg_advisory_xact_lock(\(Self.advisoryLock))")
            }
            try conn.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at \(timestampType) NOT NULL
                )
                """)
        }
    }

    /// The PostgreSQL advisory lock that serialises schema changes across processes.
    static let advisoryLock = 7205759403792793
}
