import Storage

/// Version 9: `change_counters`, one row per table that pages show, counted up in the same
/// transaction as every write to that table, plus the row `*` for any of them. A page's ETag is
/// built from the counters of the tables it reads, so a reloaded page that has not changed is a
/// `304` without a render, and every `serve` process on the database agrees on it.
///
/// - SQLite: row triggers after each insert, update and delete (one writer at a time, so a
///   counter row never waits).
/// - PostgreSQL: a deferred constraint trigger counts each table once per transaction, at
///   commit. It takes the `*` row first, then the table's: a transaction holds a counter row only
///   while it commits, and every one takes them in that order, so two writers can queue on a
///   counter but never deadlock on one. `sessions` and `login_failures` are left out: signing in
///   changes no page a counter guards.
enum SchemaVersion9 {
    /// Frozen with the migration; `ChangeCounters.Table` names the same tables.
    static let tables = [
        "api_tokens", "audit_log", "deployment_guardrails", "deployment_replicas", "deployment_resources",
        "deployment_revisions", "deployment_status_counts", "deployment_status_history", "deployments",
        "experiment_tags", "experiments", "inference_metrics", "inference_sources", "job_metric_summaries",
        "job_metrics", "job_params", "job_status_counts", "job_tags", "models", "training_jobs", "users",
    ]

    static func sql(for dialect: SQLDialect) -> String {
        let rows = (["*"] + tables).map { "('\($0)')" }.joined(separator: ", ")
        var sql = """
            CREATE TABLE change_counters (table_name TEXT PRIMARY KEY, version BIGINT NOT NULL DEFAULT 0);
            INSERT INTO change_counters (table_name) VALUES \(rows);

            """
        switch dialect {
        case .sqlite:
            for table in tables {
                for event in ["insert", "update", "delete"] {
                    sql += """
                        CREATE TRIGGER \(table)_counted_\(event) AFTER \(event.uppercased()) ON \(table) BEGIN
                            UPDATE change_counters SET version = version + 1 WHERE table_name IN ('*', '\(table)');
                        END;

                        """
                }
            }
        case .postgres:
            sql += """
                CREATE FUNCTION trainyard_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF current_setting('trainyard.counted_' || TG_TABLE_NAME, true) IS DISTINCT FROM 'y' THEN
                        PERFORM set_config('trainyard.counted_' || TG_TABLE_NAME, 'y', true);
                        UPDATE change_counters SET version = version + 1 WHERE table_name = '*';
                        UPDATE change_counters SET version = version + 1 WHERE table_name = TG_TABLE_NAME;
                    END IF;
                    RETURN NULL;
                END $$;

                """
            for table in tables {
                sql += """
                    CREATE CONSTRAINT TRIGGER \(table)_counted AFTER INSERT OR UPDATE OR DELETE ON \(table)
                        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION trainyard_count_change();

                    """
            }
        }
        return sql
    }
}
