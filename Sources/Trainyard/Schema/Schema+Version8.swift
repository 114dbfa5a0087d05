import Storage

/// Version 8: the deployments table's `q` search is indexed, so a substring search no longer
/// reads every row.
///
/// - SQLite: `deployments_search`, an FTS5 table with the trigram tokenizer over `model_name`
///   and `name` (external content: it holds only the index, rows stay in `deployments`), kept
///   in step by triggers. A quoted phrase matches any substring of three characters or more,
///   case-insensitively, like the `LOWER(…) LIKE '%q%'` it stands in for.
/// - PostgreSQL: `pg_trgm` GIN indexes on `lower(model_name)` and `lower(name)`, which serve
///   that same `LIKE` directly. `pg_trgm` ships with PostgreSQL and is a trusted extension: the
///   database's owner may create it (into `public`).
enum SchemaVersion8 {
    static func sql(for dialect: SQLDialect) -> String {
        switch dialect {
        case .sqlite: return sqlite
        case .postgres: return postgres
        }
    }

    static let sqlite = """
        CREATE VIRTUAL TABLE deployments_search USING fts5(
            model_name, name, content = 'deployments', content_rowid = 'id', tokenize = 'trigram');
        INSERT INTO deployments_search (deployments_search) VALUES ('rebuild');
        CREATE TRIGGER deployments_search_insert AFTER INSERT ON deployments BEGIN
            INSERT INTO deployments_search (rowid, model_name, name) VALUES (new.id, new.model_name, new.name);
        END;
        CREATE TRIGGER deployments_search_delete AFTER DELETE ON deployments BEGIN
            INSERT INTO deployments_search (deployments_search, rowid, model_name, name) VALUES ('delete', old.id, old.model_name, old.name);
        END;
        CREATE TRIGGER deployments_search_update AFTER UPDATE OF model_name, name ON deployments BEGIN
            INSERT INTO deployments_search (deployments_search, rowid, model_name, name) VALUES ('delete', old.id, old.model_name, old.name);
            INSERT INTO deployments_search (rowid, model_name, name) VALUES (new.id, new.model_name, new.name);
        END;

        """

    static let postgres = """
        CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
        CREATE INDEX deployments_model_name_trgm_idx ON deployments USING gin (lower(model_name) public.gin_trgm_ops);
        CREATE INDEX deployments_name_trgm_idx ON deployments USING gin (lower(name) public.gin_trgm_ops);

        """
}
