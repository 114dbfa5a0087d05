import Storage

/// Version 5: runs reported from outside (MLflow tracking) beside simulated ones, and metrics
/// of any name.
///
/// - `experiments` group jobs; experiment 0 is MLflow's "Default", which a script that never
///   calls `set_experiment` logs into.
/// - `training_jobs` gains `source` (simulated or reported), the experiment, the MLflow run id
///   and the time of the last report. A reported run has no base model until one is named or
///   picked, and no simulation plan, so those columns become nullable; one check keeps a
///   simulated job complete.
/// - `job_metrics` holds (job, key, step, time, value) rows; NULL is NaN, which SQLite cannot
///   store as a REAL. The old `training_metrics` rows move there as `loss` and `accuracy` (their
///   learning rate follows from the job's plan and is not kept).
/// - `job_metric_summaries` keeps each key's latest, minimum and maximum, updated with
///   every write, so the monitor's table and `runs/search` never aggregate a run's history.
/// - `job_params` and `job_tags`: MLflow's params (immutable once logged) and tags.
///
/// SQLite cannot relax a NOT NULL in place, so it rebuilds `training_jobs` (keys unenforced
/// while the old table is dropped, checked before commit); PostgreSQL alters it. Names of
/// tables, columns and constraints are the same on both.
enum SchemaVersion5 {
    static func sql(for dialect: SQLDialect) -> String {
        SchemaVersion1.render(experiments + (dialect == .sqlite ? sqliteJobs : postgresJobs) + metrics, for: dialect)
    }

    static let experiments = """
        CREATE TABLE experiments (
            id {ID},
            name TEXT NOT NULL CONSTRAINT experiments_name_key UNIQUE,
            lifecycle_stage TEXT NOT NULL DEFAULT 'active'
                CONSTRAINT experiments_lifecycle_stage_check CHECK (lifecycle_stage IN ('active', 'deleted')),
            created_at {TS} NOT NULL DEFAULT {NOW},
            updated_at {TS} NOT NULL DEFAULT {NOW}
        ){STRICT};
        INSERT INTO experiments (id, name) {OVERRIDE} VALUES (0, 'Default');

        CREATE TABLE experiment_tags (
            experiment_id {REF} NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            CONSTRAINT experiment_tags_pkey PRIMARY KEY (experiment_id, key)
        ){CLUSTERED};

        """

    /// The rules every job row keeps, whatever its source.
    static let jobKindCheck = """
        CONSTRAINT training_jobs_source_check CHECK (source IN ('simulated', 'reported')),
            CONSTRAINT training_jobs_kind_check CHECK (
                (source = 'simulated' AND model_id IS NOT NULL AND epochs IS NOT NULL AND learning_rate IS NOT NULL
                    AND batch_size IS NOT NULL AND steps_per_epoch IS NOT NULL AND run_uuid IS NULL)
                OR (source = 'reported' AND run_uuid IS NOT NULL AND experiment_id IS NOT NULL))
        """

    static let sqliteJobs = """
        CREATE TABLE training_jobs_v5 (
            id {ID},
            name TEXT NOT NULL,
            model_id {REF} REFERENCES models (id) ON DELETE RESTRICT,
            status TEXT NOT NULL DEFAULT 'queued'
                CONSTRAINT training_jobs_status_check CHECK (status IN ('queued', 'running', 'complete', 'failed')),
            epochs INTEGER CONSTRAINT training_jobs_epochs_check CHECK (epochs BETWEEN 1 AND 100),
            learning_rate {REAL} CONSTRAINT training_jobs_learning_rate_check CHECK (learning_rate > 0),
            batch_size INTEGER CONSTRAINT training_jobs_batch_size_check CHECK (batch_size > 0),
            steps_per_epoch INTEGER DEFAULT 100
                CONSTRAINT training_jobs_steps_per_epoch_check CHECK (steps_per_epoch > 0),
            current_step INTEGER NOT NULL DEFAULT 0
                CONSTRAINT training_jobs_current_step_check CHECK (current_step >= 0),
            notes TEXT NOT NULL DEFAULT '',
            failure_reason TEXT,
            seed {BIGINT} NOT NULL DEFAULT 0,
            created_at {TS} NOT NULL DEFAULT {NOW},
            started_at {TS},
            finished_at {TS},
            updated_at {TS} NOT NULL DEFAULT {NOW},
            source TEXT NOT NULL DEFAULT 'simulated',
            experiment_id {REF} REFERENCES experiments (id) ON DELETE RESTRICT,
            run_uuid TEXT CONSTRAINT training_jobs_run_uuid_key UNIQUE,
            last_report_at {TS},
            \(jobKindCheck)
        ){STRICT};
        INSERT INTO training_jobs_v5 (id, name, model_id, status, epochs, learning_rate, batch_size, steps_per_epoch,
                current_step, notes, failure_reason, seed, created_at, started_at, finished_at, updated_at)
            SELECT id, name, model_id, status, epochs, learning_rate, batch_size, steps_per_epoch,
                current_step, notes, failure_reason, seed, created_at, started_at, finished_at, updated_at
            FROM training_jobs;
        DROP TABLE training_jobs;
        ALTER TABLE training_jobs_v5 RENAME TO training_jobs;
        CREATE INDEX training_jobs_created_idx ON training_jobs (created_at, id);
        CREATE INDEX training_jobs_status_created_idx ON training_jobs (status, created_at, id);
        CREATE INDEX training_jobs_model_created_idx ON training_jobs (model_id, created_at, id);
        CREATE INDEX training_jobs_experiment_created_idx ON training_jobs (experiment_id, created_at, id);

        """

    static let postgresJobs = """
        ALTER TABLE training_jobs
            ALTER COLUMN model_id DROP NOT NULL,
            ALTER COLUMN epochs DROP NOT NULL,
            ALTER COLUMN learning_rate DROP NOT NULL,
            ALTER COLUMN batch_size DROP NOT NULL,
            ALTER COLUMN steps_per_epoch DROP NOT NULL,
            ADD COLUMN source TEXT NOT NULL DEFAULT 'simulated',
            ADD COLUMN experiment_id BIGINT REFERENCES experiments (id) ON DELETE RESTRICT,
            ADD COLUMN run_uuid TEXT CONSTRAINT training_jobs_run_uuid_key UNIQUE,
            ADD COLUMN last_report_at TIMESTAMPTZ,
            ADD \(jobKindCheck.replacingOccurrences(of: "CONSTRAINT training_jobs_kind_check", with: "ADD CONSTRAINT training_jobs_kind_check"));
        CREATE INDEX training_jobs_experiment_created_idx ON training_jobs (experiment_id, created_at, id);

        """

    static let metrics = """
        CREATE TABLE job_metrics (
            job_id {REF} NOT NULL REFERENCES training_jobs (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            step {BIGINT} NOT NULL,
            recorded_at {TS} NOT NULL,
            value {REAL},
            CONSTRAINT job_metrics_pkey PRIMARY KEY (job_id, key, step, recorded_at)
        ){CLUSTERED};
        INSERT INTO job_metrics (job_id, key, step, recorded_at, value)
            SELECT job_id, 'loss', step, recorded_at, loss FROM training_metrics;
        INSERT INTO job_metrics (job_id, key, step, recorded_at, value)
            SELECT job_id, 'accuracy', step, recorded_at, accuracy FROM training_metrics;
        DROP TABLE training_metrics;

        CREATE TABLE job_metric_summaries (
            job_id {REF} NOT NULL REFERENCES training_jobs (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            latest_step {BIGINT} NOT NULL,
            latest_at {TS} NOT NULL,
            latest_value {REAL},
            min_value {REAL},
            max_value {REAL},
            CONSTRAINT job_metric_summaries_pkey PRIMARY KEY (job_id, key)
        ){CLUSTERED};
        INSERT INTO job_metric_summaries (job_id, key, latest_step, latest_at, latest_value, min_value, max_value)
            SELECT m.job_id, m.key, m.step, m.recorded_at, m.value, a.lo, a.hi
            FROM job_metrics m
            JOIN (SELECT job_id, key, MAX(step) AS last_step, MIN(value) AS lo, MAX(value) AS hi
                  FROM job_metrics GROUP BY job_id, key) a
              ON a.job_id = m.job_id AND a.key = m.key AND a.last_step = m.step;

        CREATE TABLE job_params (
            job_id {REF} NOT NULL REFERENCES training_jobs (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            CONSTRAINT job_params_pkey PRIMARY KEY (job_id, key)
        ){CLUSTERED};

        CREATE TABLE job_tags (
            job_id {REF} NOT NULL REFERENCES training_jobs (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            CONSTRAINT job_tags_pkey PRIMARY KEY (job_id, key)
        ){CLUSTERED};
        """
}
