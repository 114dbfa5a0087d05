import Storage

/// Version 1: the whole initial schema, written once for both dialects.
///
/// Only column types and defaults differ between SQLite and PostgreSQL, so the DDL is one text
/// with type placeholders; names, constraints and indexes are therefore identical by
/// construction. SQLite tables are STRICT so that, like PostgreSQL, they reject values of the
/// wrong type instead of storing them. Later migrations are written per dialect in
/// `SQLiteSchema` / `PostgresSchema`.
enum SchemaVersion1 {
    static func sql(for dialect: SQLDialect) -> String {
        render(template + deploymentSortIndexes, for: dialect)
    }

    /// Replaces the type placeholders (`{ID}`, `{TS}`, …) for `dialect`; later versions written
    /// once for both dialects use it too.
    static func render(_ text: String, for dialect: SQLDialect) -> String {
        let types: [(String, String)]
        switch dialect {
        case .sqlite:
            types = [
                ("{ID}", "INTEGER PRIMARY KEY"),
                ("{REF}", "INTEGER"),
                ("{BIGINT}", "INTEGER"),
                ("{REAL}", "REAL"),
                ("{TS}", "INTEGER"),
                // Unix milliseconds, matching what the driver binds for `.date`.
                ("{NOW}", "(CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER))"),
                ("{STRICT}", " STRICT"),
                ("{CLUSTERED}", " STRICT, WITHOUT ROWID"),
                ("{OVERRIDE}", ""),
            ]
        case .postgres:
            types = [
                ("{ID}", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
                ("{REF}", "BIGINT"),
                ("{BIGINT}", "BIGINT"),
                ("{REAL}", "DOUBLE PRECISION"),
                ("{TS}", "TIMESTAMPTZ"),
                ("{NOW}", "(now())"),
                ("{STRICT}", ""),
                ("{CLUSTERED}", ""),
                // Lets a migration insert a row with a chosen id (MLflow's experiment 0).
                ("{OVERRIDE}", "OVERRIDING SYSTEM VALUE"),
            ]
        }
        var sql = text
        for (placeholder, type) in types {
            sql = sql.replacingOccurrences(of: placeholder, with: type)
        }
        return sql
    }

    /// Sort keys of the deployments table. Each gets an index led by the key with `id` as the
    /// tie-breaker (keyset pagination), and one led by `status` for the status-filtered view;
    /// all partial on live rows, since deleted ones are never listed.
    static let deploymentSortKeys = [
        "model_name", "version_number", "rps", "p50_ms", "p95_ms", "p99_ms", "error_rate", "created_at",
    ]

    static var deploymentSortIndexes: String {
        var sql = "CREATE INDEX deployments_status_idx ON deployments (status, id) WHERE deleted_at IS NULL;\n"
        for key in deploymentSortKeys {
            sql += "CREATE INDEX deployments_\(key)_idx ON deployments (\(key), id) WHERE deleted_at IS NULL;\n"
            sql += "CREATE INDEX deployments_status_\(key)_idx ON deployments (status, \(key), id) WHERE deleted_at IS NULL;\n"
        }
        return sql
    }

    static let template = """
        CREATE TABLE models (
            id {ID},
            slug TEXT NOT NULL CONSTRAINT models_slug_key UNIQUE,
            name TEXT NOT NULL,
            parameters {BIGINT} NOT NULL CONSTRAINT models_parameters_check CHECK (parameters > 0),
            size_class TEXT NOT NULL
                CONSTRAINT models_size_class_check CHECK (size_class IN ('nano', 'small', 'large')),
            context_length INTEGER NOT NULL CONSTRAINT models_context_length_check CHECK (context_length > 0),
            card TEXT NOT NULL DEFAULT '',
            created_at {TS} NOT NULL DEFAULT {NOW}
        ){STRICT};

        CREATE TABLE training_jobs (
            id {ID},
            name TEXT NOT NULL,
            model_id {REF} NOT NULL REFERENCES models (id) ON DELETE RESTRICT,
            status TEXT NOT NULL DEFAULT 'queued'
                CONSTRAINT training_jobs_status_check CHECK (status IN ('queued', 'running', 'complete', 'failed')),
            epochs INTEGER NOT NULL CONSTRAINT training_jobs_epochs_check CHECK (epochs BETWEEN 1 AND 100),
            learning_rate {REAL} NOT NULL CONSTRAINT training_jobs_learning_rate_check CHECK (learning_rate > 0),
            batch_size INTEGER NOT NULL CONSTRAINT training_jobs_batch_size_check CHECK (batch_size > 0),
            steps_per_epoch INTEGER NOT NULL DEFAULT 100
                CONSTRAINT training_jobs_steps_per_epoch_check CHECK (steps_per_epoch > 0),
            current_step INTEGER NOT NULL DEFAULT 0
                CONSTRAINT training_jobs_current_step_check CHECK (current_step >= 0),
            notes TEXT NOT NULL DEFAULT '',
            failure_reason TEXT,
            seed {BIGINT} NOT NULL DEFAULT 0,
            created_at {TS} NOT NULL DEFAULT {NOW},
            started_at {TS},
            finished_at {TS},
            updated_at {TS} NOT NULL DEFAULT {NOW}
        ){STRICT};
        CREATE INDEX training_jobs_created_idx ON training_jobs (created_at, id);
        CREATE INDEX training_jobs_status_created_idx ON training_jobs (status, created_at, id);
        CREATE INDEX training_jobs_model_created_idx ON training_jobs (model_id, created_at, id);

        CREATE TABLE training_metrics (
            job_id {REF} NOT NULL REFERENCES training_jobs (id) ON DELETE CASCADE,
            step INTEGER NOT NULL CONSTRAINT training_metrics_step_check CHECK (step >= 0),
            epoch INTEGER NOT NULL,
            loss {REAL} NOT NULL,
            accuracy {REAL} NOT NULL,
            learning_rate {REAL} NOT NULL,
            recorded_at {TS} NOT NULL DEFAULT {NOW},
            CONSTRAINT training_metrics_pkey PRIMARY KEY (job_id, step)
        ){CLUSTERED};

        CREATE TABLE deployments (
            id {ID},
            job_id {REF} NOT NULL REFERENCES training_jobs (id) ON DELETE RESTRICT,
            model_id {REF} NOT NULL REFERENCES models (id) ON DELETE RESTRICT,
            model_name TEXT NOT NULL,
            name TEXT NOT NULL,
            version TEXT NOT NULL,
            version_number INTEGER NOT NULL CONSTRAINT deployments_version_number_check CHECK (version_number > 0),
            status TEXT NOT NULL DEFAULT 'deploying'
                CONSTRAINT deployments_status_check CHECK (status IN ('deploying', 'active', 'paused', 'failed')),
            endpoint TEXT NOT NULL,
            target_replicas INTEGER NOT NULL DEFAULT 1
                CONSTRAINT deployments_target_replicas_check CHECK (target_replicas BETWEEN 1 AND 100),
            deployed_by TEXT NOT NULL DEFAULT '',
            created_at {TS} NOT NULL DEFAULT {NOW},
            updated_at {TS} NOT NULL DEFAULT {NOW},
            deleted_at {TS},
            rps {REAL} NOT NULL DEFAULT 0 CONSTRAINT deployments_rps_check CHECK (rps >= 0),
            p50_ms {REAL} NOT NULL DEFAULT 0,
            p95_ms {REAL} NOT NULL DEFAULT 0,
            p99_ms {REAL} NOT NULL DEFAULT 0,
            error_rate {REAL} NOT NULL DEFAULT 0
                CONSTRAINT deployments_error_rate_check CHECK (error_rate >= 0 AND error_rate <= 1),
            stats_at {TS},
            CONSTRAINT deployments_model_id_version_number_key UNIQUE (model_id, version_number)
        ){STRICT};
        CREATE UNIQUE INDEX deployments_one_live_per_job ON deployments (job_id)
            WHERE deleted_at IS NULL AND status IN ('deploying', 'active', 'paused');
        CREATE INDEX deployments_job_idx ON deployments (job_id);

        CREATE TABLE deployment_resources (
            deployment_id {REF} NOT NULL PRIMARY KEY REFERENCES deployments (id) ON DELETE CASCADE,
            cpu {REAL} NOT NULL CONSTRAINT deployment_resources_cpu_check CHECK (cpu BETWEEN 0.5 AND 32),
            memory_mb INTEGER NOT NULL
                CONSTRAINT deployment_resources_memory_mb_check CHECK (memory_mb BETWEEN 512 AND 65536),
            gpu INTEGER NOT NULL DEFAULT 0 CONSTRAINT deployment_resources_gpu_check CHECK (gpu BETWEEN 0 AND 8),
            storage_gb INTEGER NOT NULL
                CONSTRAINT deployment_resources_storage_gb_check CHECK (storage_gb BETWEEN 1 AND 1000)
        ){STRICT};

        CREATE TABLE deployment_replicas (
            id {ID},
            deployment_id {REF} NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL CONSTRAINT deployment_replicas_ordinal_check CHECK (ordinal >= 0),
            status TEXT NOT NULL DEFAULT 'pending'
                CONSTRAINT deployment_replicas_status_check
                CHECK (status IN ('pending', 'starting', 'running', 'stopping', 'stopped', 'failed')),
            created_at {TS} NOT NULL DEFAULT {NOW},
            updated_at {TS} NOT NULL DEFAULT {NOW}
        ){STRICT};
        CREATE INDEX deployment_replicas_deployment_idx ON deployment_replicas (deployment_id, ordinal);
        CREATE INDEX deployment_replicas_deployment_status_idx ON deployment_replicas (deployment_id, status);

        CREATE TABLE deployment_status_history (
            id {ID},
            deployment_id {REF} NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
            old_status TEXT,
            new_status TEXT NOT NULL,
            changed_by TEXT NOT NULL DEFAULT 'system',
            reason TEXT NOT NULL DEFAULT '',
            created_at {TS} NOT NULL DEFAULT {NOW}
        ){STRICT};
        CREATE INDEX deployment_status_history_deployment_idx ON deployment_status_history (deployment_id, created_at, id);

        CREATE TABLE inference_metrics (
            deployment_id {REF} NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
            bucket {TS} NOT NULL,
            requests INTEGER NOT NULL CONSTRAINT inference_metrics_requests_check CHECK (requests >= 0),
            errors INTEGER NOT NULL
                CONSTRAINT inference_metrics_errors_check CHECK (errors >= 0 AND errors <= requests),
            p50_ms {REAL} NOT NULL,
            p95_ms {REAL} NOT NULL,
            p99_ms {REAL} NOT NULL,
            CONSTRAINT inference_metrics_pkey PRIMARY KEY (deployment_id, bucket)
        ){CLUSTERED};

        CREATE TABLE deployment_status_counts (
            status TEXT NOT NULL PRIMARY KEY
                CONSTRAINT deployment_status_counts_status_check CHECK (status IN ('deploying', 'active', 'paused', 'failed')),
            count {BIGINT} NOT NULL DEFAULT 0 CONSTRAINT deployment_status_counts_count_check CHECK (count >= 0)
        ){STRICT};
        INSERT INTO deployment_status_counts (status, count)
            VALUES ('deploying', 0), ('active', 0), ('paused', 0), ('failed', 0);

        CREATE TABLE job_status_counts (
            status TEXT NOT NULL PRIMARY KEY
                CONSTRAINT job_status_counts_status_check CHECK (status IN ('queued', 'running', 'complete', 'failed')),
            count {BIGINT} NOT NULL DEFAULT 0 CONSTRAINT job_status_counts_count_check CHECK (count >= 0)
        ){STRICT};
        INSERT INTO job_status_counts (status, count)
            VALUES ('queued', 0), ('running', 0), ('complete', 0), ('failed', 0);

        """
}

/// SQLite migrations (append only; parallel to `PostgresSchema`).
enum SQLiteSchema {
    static let migrations: [Migration] = [
        Migration(version: 1, name: "initial_schema", sql: SchemaVersion1.sql(for: .sqlite)),
        Migration(version: 2, name: "replicas_in_transition_index", sql: SchemaVersion2.sql),
        Migration(version: 3, name: "inference_metrics_bucket_index", sql: SchemaVersion3.sql),
        Migration(version: 4, name: "accounts_and_audit", sql: SchemaVersion4.sql(for: .sqlite)),
        Migration(version: 5, name: "tracking_runs_and_any_metric", sql: SchemaVersion5.sql(for: .sqlite), rebuildsTables: true),
        Migration(version: 6, name: "deployment_revisions_failures_guardrails", sql: SchemaVersion6.sql(for: .sqlite)),
        Migration(version: 7, name: "inference_sources", sql: SchemaVersion7.sql(for: .sqlite)),
        Migration(version: 8, name: "deployments_search_index", sql: SchemaVersion8.sql(for: .sqlite)),
        Migration(version: 9, name: "change_counters", sql: SchemaVersion9.sql(for: .sqlite)),
        Migration(version: 10, name: "sessions_change_counter", sql: SchemaVersion10.sql(for: .sqlite)),
    ]
}

/// PostgreSQL migrations (append only; parallel to `SQLiteSchema`).
enum PostgresSchema {
    static let migrations: [Migration] = [
        Migration(version: 1, name: "initial_schema", sql: SchemaVersion1.sql(for: .postgres)),
        Migration(version: 2, name: "replicas_in_transition_index", sql: SchemaVersion2.sql),
        Migration(version: 3, name: "inference_metrics_bucket_index", sql: SchemaVersion3.sql),
        Migration(version: 4, name: "accounts_and_audit", sql: SchemaVersion4.sql(for: .postgres)),
        Migration(version: 5, name: "tracking_runs_and_any_metric", sql: SchemaVersion5.sql(for: .postgres)),
        Migration(version: 6, name: "deployment_revisions_failures_guardrails", sql: SchemaVersion6.sql(for: .postgres)),
        Migration(version: 7, name: "inference_sources", sql: SchemaVersion7.sql(for: .postgres)),
        Migration(version: 8, name: "deployments_search_index", sql: SchemaVersion8.sql(for: .postgres)),
        Migration(version: 9, name: "change_counters", sql: SchemaVersion9.sql(for: .postgres)),
        Migration(version: 10, name: "sessions_change_counter", sql: SchemaVersion10.sql(for: .postgres)),
    ]
}

/// Version 2: the deployment runner looks for replicas whose time in a transitional state is
/// up on every tick; without this index that is a scan of every replica ever created. Not
/// partial: SQLite only serves the runner's OR of (status, time) ranges from a full index.
enum SchemaVersion2 {
    static let sql = """
        CREATE INDEX deployment_replicas_status_updated_idx ON deployment_replicas (status, updated_at);
        """
}

/// Version 3: the runner deletes inference buckets past the retention period; this index finds
/// them without scanning the table. The same SQL in both dialects.
enum SchemaVersion3 {
    static let sql = """
        CREATE INDEX inference_metrics_bucket_idx ON inference_metrics (bucket);
        """
}
