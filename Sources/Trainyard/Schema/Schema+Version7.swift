import Storage

/// Version 7: inference figures from real model servers.
///
/// - `inference_metrics` rows say where they came from (`simulated`, `scraped`, `pushed`) and
///   how many seconds of observation they cover: a scraped minute is the sum of its scrape
///   intervals, so requests/s is `requests / seconds` even for a minute watched only in part.
/// - `deployments.metrics_source` is the deployment's current source; the simulation runner
///   writes only for `simulated` ones, and switching deletes the other source's rows, so a
///   deployment never mixes them.
/// - `inference_sources`: one row per deployment that is not simulated. A scraped source holds
///   its target, interval and series mapping, when it is next due (claimed like runner rows),
///   whether it is up and since when it is down, how many scrapes in a row failed (the retry
///   backs off), the last error, and the scraper's state (the
///   previous scrape's series values and the current minute so far, as JSON). `generation`
///   moves on every change of configuration, so a scrape in flight across a change is dropped.
enum SchemaVersion7 {
    static func sql(for dialect: SQLDialect) -> String {
        SchemaVersion1.render(metrics + sources, for: dialect)
    }

    static let metrics = """
        ALTER TABLE inference_metrics ADD COLUMN source TEXT NOT NULL DEFAULT 'simulated'
            CONSTRAINT inference_metrics_source_check CHECK (source IN ('simulated', 'scraped', 'pushed'));
        ALTER TABLE inference_metrics ADD COLUMN seconds {REAL} NOT NULL DEFAULT 60
            CONSTRAINT inference_metrics_seconds_check CHECK (seconds > 0);
        ALTER TABLE deployments ADD COLUMN metrics_source TEXT NOT NULL DEFAULT 'simulated'
            CONSTRAINT deployments_metrics_source_check CHECK (metrics_source IN ('simulated', 'scraped', 'pushed'));

        """

    static let sources = """
        CREATE TABLE inference_sources (
            deployment_id {REF} NOT NULL PRIMARY KEY REFERENCES deployments (id) ON DELETE CASCADE,
            kind TEXT NOT NULL CONSTRAINT inference_sources_kind_check CHECK (kind IN ('scraped', 'pushed')),
            target_url TEXT,
            interval_seconds INTEGER
                CONSTRAINT inference_sources_interval_check CHECK (interval_seconds BETWEEN 5 AND 300),
            preset TEXT,
            histogram TEXT,
            requests_counter TEXT,
            failure_counter TEXT,
            error_matcher TEXT,
            generation INTEGER NOT NULL DEFAULT 1,
            next_scrape_at {TS},
            last_scrape_at {TS},
            last_success_at {TS},
            up INTEGER CONSTRAINT inference_sources_up_check CHECK (up IN (0, 1)),
            down_since {TS},
            failures INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            state TEXT,
            updated_by TEXT NOT NULL,
            updated_at {TS} NOT NULL,
            CONSTRAINT inference_sources_scraped_check CHECK (kind <> 'scraped'
                OR (target_url IS NOT NULL AND interval_seconds IS NOT NULL AND histogram IS NOT NULL
                    AND requests_counter IS NOT NULL AND next_scrape_at IS NOT NULL))
        ){STRICT};
        CREATE INDEX inference_sources_due_idx ON inference_sources (next_scrape_at) WHERE kind = 'scraped';

        """
}
