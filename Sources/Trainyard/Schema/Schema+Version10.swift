import Storage

/// Version 10: a change counter for `sessions`, so a signed-in page can skip its session lookup
/// while no session (and no user) has changed (see `SessionCache`). Unlike version 9's tables it
/// leaves `*` alone: a sign-in, or a session's last-seen time moving on, changes no page. On
/// PostgreSQL its trigger still locks the `*` row first, the order every counting transaction
/// takes, so a sign-out (sessions, then the audit log) and a disabled account (users, then
/// sessions) cannot deadlock on the counters.
enum SchemaVersion10 {
    static func sql(for dialect: SQLDialect) -> String {
        var sql = "INSERT INTO change_counters (table_name) VALUES ('sessions');\n"
        switch dialect {
        case .sqlite:
            for event in ["insert", "update", "delete"] {
                sql += """
                    CREATE TRIGGER sessions_counted_\(event) AFTER \(event.uppercased()) ON sessions BEGIN
                        UPDATE change_counters SET version = version + 1 WHERE table_name = 'sessions';
                    END;

                    """
            }
        case .postgres:
            sql += """
                CREATE FUNCTION trainyard_count_session_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF current_setting('trainyard.counted_sessions', true) IS DISTINCT FROM 'y' THEN
                        PERFORM set_config('trainyard.counted_sessions', 'y', true);
                        PERFORM 1 FROM change_counters WHERE table_name = '*' FOR UPDATE;
                        UPDATE change_counters SET version = version + 1 WHERE table_name = 'sessions';
                    END IF;
                    RETURN NULL;
                END $$;
                CREATE CONSTRAINT TRIGGER sessions_counted AFTER INSERT OR UPDATE OR DELETE ON sessions
                    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION trainyard_count_session_change();

                """
        }
        return sql
    }
}
