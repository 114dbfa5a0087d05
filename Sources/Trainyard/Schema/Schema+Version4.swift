import Storage

/// Version 4: accounts (users, sessions, API tokens, sign-in failures) and the audit trail,
/// written once for both dialects like version 1.
///
/// Sessions and tokens store only a SHA-256 of their secret, so a copy of the database signs
/// nobody in. Audit rows keep the actor's name as text (users are disabled, never deleted), and
/// each filter of `/audit` has an index ending in (created_at, id), so the newest page of any
/// one filter is an index range read at a million rows.
enum SchemaVersion4 {
    static func sql(for dialect: SQLDialect) -> String {
        SchemaVersion1.render(template, for: dialect)
    }

    static let template = """
        CREATE TABLE users (
            id {ID},
            username TEXT NOT NULL CONSTRAINT users_username_key UNIQUE,
            display_name TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL CONSTRAINT users_role_check CHECK (role IN ('viewer', 'operator', 'admin')),
            disabled INTEGER NOT NULL DEFAULT 0 CONSTRAINT users_disabled_check CHECK (disabled IN (0, 1)),
            password_hash TEXT NOT NULL,
            created_at {TS} NOT NULL,
            updated_at {TS} NOT NULL
        ){STRICT};

        CREATE TABLE sessions (
            id {ID},
            token_hash TEXT NOT NULL CONSTRAINT sessions_token_hash_key UNIQUE,
            user_id {REF} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            created_at {TS} NOT NULL,
            last_seen_at {TS} NOT NULL,
            expires_at {TS} NOT NULL,
            client_address TEXT NOT NULL DEFAULT ''
        ){STRICT};
        CREATE INDEX sessions_user_idx ON sessions (user_id);
        CREATE INDEX sessions_expires_idx ON sessions (expires_at);

        CREATE TABLE api_tokens (
            id {ID},
            user_id {REF} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            prefix TEXT NOT NULL,
            token_hash TEXT NOT NULL CONSTRAINT api_tokens_token_hash_key UNIQUE,
            created_at {TS} NOT NULL,
            last_used_at {TS},
            expires_at {TS},
            revoked_at {TS}
        ){STRICT};
        CREATE INDEX api_tokens_user_idx ON api_tokens (user_id, created_at);

        CREATE TABLE login_failures (
            id {ID},
            throttle_key TEXT NOT NULL,
            created_at {TS} NOT NULL
        ){STRICT};
        CREATE INDEX login_failures_key_idx ON login_failures (throttle_key, created_at);
        CREATE INDEX login_failures_created_idx ON login_failures (created_at);

        CREATE TABLE audit_log (
            id {ID},
            created_at {TS} NOT NULL,
            actor_id {REF},
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target_type TEXT NOT NULL,
            target_id TEXT NOT NULL DEFAULT '',
            details TEXT NOT NULL DEFAULT '',
            client_address TEXT NOT NULL DEFAULT ''
        ){STRICT};
        CREATE INDEX audit_log_created_idx ON audit_log (created_at, id);
        CREATE INDEX audit_log_actor_idx ON audit_log (actor, created_at, id);
        CREATE INDEX audit_log_action_idx ON audit_log (action, created_at, id);
        CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, created_at, id);
        """
}
