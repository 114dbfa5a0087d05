import Storage

/// Version 6: deployments that fail, change, roll back and answer "what was live at T".
///
/// - Versions follow the seeds: a model's first deployment is v1.0.0. `version_number` stays
///   the ordinal the table sorts by and the unique key, now one above the minor number
///   (`v1.{version_number − 1}.0`); existing rows shift by one so their stored names still agree
///   with it and a model's next deployment continues after its highest version. The shift goes
///   through a large offset so the unique key never sees two rows with one number mid-update.
/// - `deployment_revisions`: append-only config snapshots (replicas and resources), who made
///   each and why; revision 1 of every existing deployment is its current config. A rollout
///   that fails keeps its reason on its revision, written once.
/// - `deployments` gains the serving `revision`, the one being rolled out, when the current
///   start or rollout began (for the start deadline), the latest failure, the deployment a
///   rollback-to-version replaces, a traffic baseline (last hour's mean) for the traffic-drop
///   threshold, and the guardrail flag. Deleted rows get an index by deletion time, for the
///   table at an instant (what was deleted after it).
/// - Replicas carry their revision, restart count, last failure and when to retry.
/// - History rows carry the event and the serving revision and replica count after it, so
///   "what was live at T" is the last row at or before T per deployment. Rows written before
///   this version get revision 1 and the deployment's current replica count.
/// - `deployment_guardrails`: per-deployment rules (metric, threshold, minutes, flag or pause).
enum SchemaVersion6 {
    static func sql(for dialect: SQLDialect) -> String {
        SchemaVersion1.render(versions + deployments + revisions + replicas + history + guardrails, for: dialect)
    }

    static let versions = """
        UPDATE deployments SET version_number = version_number + 1000000000;
        UPDATE deployments SET version_number = version_number - 999999999;

        """

    static let deployments = """
        ALTER TABLE deployments ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE deployments ADD COLUMN rollout_revision INTEGER;
        ALTER TABLE deployments ADD COLUMN rollout_started_at {TS};
        ALTER TABLE deployments ADD COLUMN failure_reason TEXT;
        ALTER TABLE deployments ADD COLUMN replaces_id {REF} REFERENCES deployments (id) ON DELETE SET NULL;
        ALTER TABLE deployments ADD COLUMN rps_baseline {REAL} NOT NULL DEFAULT 0;
        ALTER TABLE deployments ADD COLUMN attention_since {TS};
        ALTER TABLE deployments ADD COLUMN attention_reason TEXT;
        CREATE INDEX deployments_in_rollout_idx ON deployments (id)
            WHERE deleted_at IS NULL AND (status = 'deploying' OR rollout_revision IS NOT NULL);
        CREATE INDEX deployments_attention_idx ON deployments (attention_since, id)
            WHERE deleted_at IS NULL AND attention_since IS NOT NULL;
        CREATE INDEX deployments_deleted_at_idx ON deployments (deleted_at) WHERE deleted_at IS NOT NULL;

        """

    static let revisions = """
        CREATE TABLE deployment_revisions (
            deployment_id {REF} NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
            number INTEGER NOT NULL CONSTRAINT deployment_revisions_number_check CHECK (number > 0),
            replicas INTEGER NOT NULL CONSTRAINT deployment_revisions_replicas_check CHECK (replicas BETWEEN 1 AND 100),
            cpu {REAL} NOT NULL CONSTRAINT deployment_revisions_cpu_check CHECK (cpu BETWEEN 0.5 AND 32),
            memory_mb INTEGER NOT NULL
                CONSTRAINT deployment_revisions_memory_mb_check CHECK (memory_mb BETWEEN 512 AND 65536),
            gpu INTEGER NOT NULL CONSTRAINT deployment_revisions_gpu_check CHECK (gpu BETWEEN 0 AND 8),
            storage_gb INTEGER NOT NULL
                CONSTRAINT deployment_revisions_storage_gb_check CHECK (storage_gb BETWEEN 1 AND 1000),
            created_by TEXT NOT NULL,
            created_at {TS} NOT NULL,
            reason TEXT NOT NULL,
            source_revision INTEGER,
            failed_reason TEXT,
            CONSTRAINT deployment_revisions_pkey PRIMARY KEY (deployment_id, number)
        ){CLUSTERED};
        INSERT INTO deployment_revisions (deployment_id, number, replicas, cpu, memory_mb, gpu, storage_gb, created_by, created_at, reason)
            SELECT d.id, 1, d.target_replicas, r.cpu, r.memory_mb, r.gpu, r.storage_gb, d.deployed_by, d.created_at, 'deployed'
            FROM deployments d JOIN deployment_resources r ON r.deployment_id = d.id;

        """

    static let replicas = """
        ALTER TABLE deployment_replicas ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE deployment_replicas ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE deployment_replicas ADD COLUMN last_failure TEXT;
        ALTER TABLE deployment_replicas ADD COLUMN retry_at {TS};
        CREATE INDEX deployment_replicas_retry_idx ON deployment_replicas (retry_at) WHERE retry_at IS NOT NULL;

        """

    static let history = """
        ALTER TABLE deployment_status_history ADD COLUMN event TEXT NOT NULL DEFAULT 'status';
        ALTER TABLE deployment_status_history ADD COLUMN revision INTEGER;
        ALTER TABLE deployment_status_history ADD COLUMN replicas INTEGER;
        UPDATE deployment_status_history SET event = CASE
                WHEN reason = 'deleted' THEN 'delete'
                WHEN old_status IS NULL THEN 'deploy'
                WHEN reason LIKE 'scaled %' THEN 'scale'
                WHEN new_status = 'paused' THEN 'pause'
                WHEN old_status = 'paused' THEN 'resume'
                ELSE 'status' END,
            revision = 1,
            replicas = (SELECT d.target_replicas FROM deployments d WHERE d.id = deployment_status_history.deployment_id);
        CREATE INDEX deployment_status_history_created_idx ON deployment_status_history (created_at, deployment_id);

        """

    static let guardrails = """
        CREATE TABLE deployment_guardrails (
            id {ID},
            deployment_id {REF} NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
            metric TEXT NOT NULL CONSTRAINT deployment_guardrails_metric_check CHECK (metric IN ('p95', 'p99', 'error_rate')),
            threshold {REAL} NOT NULL CONSTRAINT deployment_guardrails_threshold_check CHECK (threshold > 0),
            minutes INTEGER NOT NULL CONSTRAINT deployment_guardrails_minutes_check CHECK (minutes BETWEEN 1 AND 1440),
            action TEXT NOT NULL CONSTRAINT deployment_guardrails_action_check CHECK (action IN ('flag', 'pause')),
            created_by TEXT NOT NULL,
            created_at {TS} NOT NULL,
            breached_since {TS}
        ){STRICT};
        CREATE INDEX deployment_guardrails_deployment_idx ON deployment_guardrails (deployment_id, id);

        """
}
