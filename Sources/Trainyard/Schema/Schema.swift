import Storage

/// The application's migrations, one append-only list per dialect.
///
/// The two lists stay parallel: the same version number makes the same change in both, with
/// the same table, column, index and constraint names, so features can match constraint names
/// (`deployments_one_live_per_job`, `training_jobs_epochs_check`, …) without knowing the dialect.
/// Timestamps are INTEGER unix milliseconds on SQLite and TIMESTAMPTZ on PostgreSQL; both read
/// back through `Row.date`.
///
/// ```swift
/// try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
/// ```
public enum Schema {
    /// Every migration for `dialect`, oldest first. Never edit a landed entry; append a new one.
    public static func migrations(for dialect: SQLDialect) -> [Migration] {
        switch dialect {
        case .sqlite: return SQLiteSchema.migrations
        case .postgres: return PostgresSchema.migrations
        }
    }

    /// The unique index that allows one live (deploying/active/paused, not deleted) deployment per job.
    public static let oneLiveDeploymentPerJob = "deployments_one_live_per_job"
}
