import Foundation
import PrometheusText
import Storage

/// `inference_sources` and the figures scraped or pushed into `inference_metrics`.
///
/// Locks are always taken deployment row first, then source row, as the lifecycle's writes do.
struct InferenceSourceStore {
    let database: Database

    static let columns = """
        s.deployment_id, s.kind, s.target_url, s.interval_seconds, s.preset, s.histogram, s.requests_counter, s.failure_counter,
        s.error_matcher, s.generation, s.next_scrape_at, s.last_scrape_at, s.last_success_at, s.up, s.down_since, s.last_error,
        s.updated_by, s.updated_at
        """

    static func decode(_ row: Row) throws -> InferenceSource {
        let kind = MetricsSourceKind(rawValue: try row.string("kind")) ?? .pushed
        var mapping: ScrapeMapping?
        if let histogram = try row.optionalString("histogram"), let requests = try row.optionalString("requests_counter") {
            mapping = ScrapeMapping(histogram: histogram, requestsCounter: requests, failureCounter: try row.optionalString("failure_counter"),
                                    errorMatcher: try row.optionalString("error_matcher"))
        }
        return InferenceSource(
            deploymentID: try row.int("deployment_id"), kind: kind, targetURL: try row.optionalString("target_url"),
            intervalSeconds: try row.optionalInt("interval_seconds"), preset: try row.optionalString("preset").flatMap(ScrapePreset.init),
            mapping: mapping, generation: try row.int("generation"), nextScrapeAt: try row.optionalDate("next_scrape_at"),
            lastScrapeAt: try row.optionalDate("last_scrape_at"), lastSuccessAt: try row.optionalDate("last_success_at"),
            up: try row.optionalInt("up").map { $0 != 0 }, downSince: try row.optionalDate("down_since"),
            lastError: try row.optionalString("last_error"), updatedBy: try row.string("updated_by"), updatedAt: try row.date("updated_at"))
    }

    func find(_ deploymentID: Int) throws -> InferenceSource? {
        try database.queryOne("SELECT \(Self.columns) FROM inference_sources s WHERE s.deployment_id = $1",
                              [.int(Int64(deploymentID))]).map(Self.decode)
    }

    // MARK: Choosing a source

    enum SetResult: Equatable {
        case notFound, deleted
        /// `cleared` windows of the previous source were deleted.
        case changed(cleared: Int)
        case unchanged
    }

    func set(_ id: Int, to choice: SourceChoice, by actor: Actor, now: Date) throws -> SetResult {
        try database.transaction { conn in
            guard let d = try DeploymentStore.lockedDeployment(conn, id) else { return .notFound }
            guard !d.isDeleted else { return .deleted }
            return try Self.set(conn, d, to: choice, by: actor, now: now)
        }
    }

    /// Inside the caller's transaction, with `d` locked (the deploy form sets the source of the
    /// deployment it has just made).
    static func set(_ conn: DatabaseConnection, _ d: Deployment, to choice: SourceChoice, by actor: Actor, now: Date) throws -> SetResult {
        let current = try conn.queryOne("SELECT \(columns) FROM inference_sources s WHERE s.deployment_id = $1" + conn.dialect.lockRows(of: "s"),
                                        [.int(Int64(d.id))]).map(decode)
        if d.metricsSource == choice.kind, current.map({ Self.choice(of: $0) }) ?? .simulated == choice { return .unchanged }

        switch choice.kind {
        case .simulated:
            try conn.execute("DELETE FROM inference_sources WHERE deployment_id = $1", [.int(Int64(d.id))])
        case .scraped, .pushed:
            let mapping = choice.mapping
            let values: [SQLValue] = [
                .int(Int64(d.id)), .text(choice.kind.rawValue), SQLValue(choice.targetURL), SQLValue(choice.intervalSeconds.map(Int64.init)),
                SQLValue(choice.preset?.rawValue), SQLValue(mapping?.histogram), SQLValue(mapping?.requestsCounter),
                SQLValue(mapping?.failureCounter), SQLValue(mapping?.errorMatcher),
                choice.kind == .scraped ? .date(now) : .null, .text(actor.username), .date(now),
            ]
            // A new configuration starts over: scraped at once, no baseline, no verdict yet.
            try conn.execute("""
                INSERT INTO inference_sources (deployment_id, kind, target_url, interval_seconds, preset, histogram, requests_counter,
                    failure_counter, error_matcher, next_scrape_at, updated_by, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                ON CONFLICT (deployment_id) DO UPDATE SET kind = excluded.kind, target_url = excluded.target_url,
                    interval_seconds = excluded.interval_seconds, preset = excluded.preset, histogram = excluded.histogram,
                    requests_counter = excluded.requests_counter, failure_counter = excluded.failure_counter,
                    error_matcher = excluded.error_matcher, next_scrape_at = excluded.next_scrape_at,
                    generation = inference_sources.generation + 1, last_scrape_at = NULL, last_success_at = NULL, up = NULL,
                    down_since = NULL, failures = 0, last_error = NULL, state = NULL, updated_by = excluded.updated_by, updated_at = excluded.updated_at
                """, values)
        }

        var cleared = 0
        if d.metricsSource != choice.kind {
            cleared = try conn.execute("DELETE FROM inference_metrics WHERE deployment_id = $1 AND source <> $2",
                                       [.int(Int64(d.id)), .text(choice.kind.rawValue)])
            try conn.execute("""
                UPDATE deployments SET metrics_source = $2, rps = 0, p50_ms = 0, p95_ms = 0, p99_ms = 0, error_rate = 0, stats_at = NULL,
                    rps_baseline = 0, updated_at = $3 WHERE id = $1
                """, [.int(Int64(d.id)), .text(choice.kind.rawValue), .date(now)])
        }
        let summary = Self.summary(choice)
        try DeploymentStore.recordHistory(conn, d.id, .source, from: d.status, to: d.status, revision: d.revision, replicas: d.targetReplicas,
                                          by: actor, reason: "metrics source: " + summary + (cleared > 0 ? "; \(cleared) earlier minutes deleted" : ""),
                                          now: now)
        try AuditStore.record(conn, actor, .deploymentSource, target: "\(d.id)", details: "\(d.name): \(summary)", now: now)
        return .changed(cleared: cleared)
    }

    static func choice(of source: InferenceSource) -> SourceChoice {
        SourceChoice(kind: source.kind, targetURL: source.targetURL, intervalSeconds: source.intervalSeconds, preset: source.preset,
                     mapping: source.mapping)
    }

    /// "scraped from http://…/metrics every 15 s (vLLM)", for history and the audit trail.
    static func summary(_ choice: SourceChoice) -> String {
        switch choice.kind {
        case .simulated: return "simulated"
        case .pushed: return "pushed through the API"
        case .scraped:
            let preset = choice.preset.map { $0 == .custom ? "custom mapping" : $0.label } ?? "custom mapping"
            return "scraped from \(choice.targetURL ?? "?") every \(choice.intervalSeconds ?? SourceForm.defaultInterval) s (\(preset))"
        }
    }

    // MARK: Scraping

    /// A target claimed for one scrape.
    struct Claim: Equatable {
        var deploymentID: Int
        var generation: Int
        var targetURL: String
        var mapping: ScrapeMapping
    }

    /// Scraped sources of active deployments that are due, each moved on to its next scrape
    /// before the transaction commits: another `serve` process sees them as not due (and rows
    /// it is deciding on are skipped, not waited for), so a target is scraped once per interval.
    func claimDue(now: Date, limit: Int) throws -> [Claim] {
        // Most installs scrape nothing: a read through the partial index, not a write transaction, every tick.
        guard try database.queryOne("SELECT 1 AS due FROM inference_sources WHERE kind = 'scraped' AND next_scrape_at <= $1 LIMIT 1",
                                    [.date(now)]) != nil else { return [] }
        return try database.transaction { conn in
            let rows = try conn.query("""
                SELECT \(Self.columns) FROM inference_sources s JOIN deployments d ON d.id = s.deployment_id
                WHERE s.kind = 'scraped' AND s.next_scrape_at <= $1 AND d.status = 'active' AND d.deleted_at IS NULL
                ORDER BY s.next_scrape_at LIMIT $2
                """ + conn.dialect.lockRows(of: "s", .skipLocked), [.date(now), .int(Int64(limit))]).map(Self.decode)
            var claims: [Claim] = []
            for source in rows {
                guard let url = source.targetURL, let mapping = source.mapping, let interval = source.intervalSeconds,
                      let due = source.nextScrapeAt else { continue }
                // Keep the cadence (due + interval) unless that is already past: then from now.
                var next = due.addingTimeInterval(Double(interval))
                if next <= now { next = now.addingTimeInterval(Double(interval)) }
                try conn.execute("UPDATE inference_sources SET next_scrape_at = $2 WHERE deployment_id = $1",
                                 [.int(Int64(source.deploymentID)), .date(next)])
                claims.append(Claim(deploymentID: source.deploymentID, generation: source.generation, targetURL: url, mapping: mapping))
            }
            return claims
        }
    }

    /// What one scrape found: the selected series, or why there are none.
    enum Outcome {
        case scraped(Snapshot)
        case failed(String)
    }

    /// Records a scrape taken at `at`. A success adds to the current minute's row (written
    /// again with the minute so far) and the deployment's latest figures; when it starts a new
    /// minute, the finished one is checked against the guardrails. A failure marks the source
    /// down (since the first failure) and drops the reading, leaving a gap. Nothing happens
    /// when the source changed while the scrape was in flight.
    @discardableResult
    func record(_ claim: Claim, _ outcome: Outcome, at: Date) throws -> Bool {
        try database.transaction { conn in
            guard let d = try DeploymentStore.lockedDeployment(conn, claim.deploymentID), !d.isDeleted,
                  let row = try conn.queryOne("""
                      SELECT generation, kind, state, interval_seconds, failures FROM inference_sources WHERE deployment_id = $1
                      """ + conn.dialect.lockRows(), [.int(Int64(claim.deploymentID))]),
                  try row.int("generation") == claim.generation, try row.string("kind") == MetricsSourceKind.scraped.rawValue else {
                return false
            }
            switch outcome {
            case .failed(let message):
                let state = try ScrapeState.decode(try row.optionalString("state"))?.withoutReading.encoded()
                let failures = try row.int("failures") + 1
                let retry = at.addingTimeInterval(Self.retryDelay(interval: try row.optionalInt("interval_seconds") ?? SourceForm.defaultInterval,
                                                                  failures: failures))
                try conn.execute("""
                    UPDATE inference_sources SET up = 0, down_since = CASE WHEN up = 0 THEN down_since ELSE $2 END,
                        last_error = $3, last_scrape_at = $2, state = $4, failures = $5, next_scrape_at = $6 WHERE deployment_id = $1
                    """, [.int(Int64(d.id)), .date(at), .text(message.prefix(scalars: 500)), SQLValue(state), .int(Int64(failures)), .date(retry)])
            case .scraped(let snapshot):
                let advanced = ScrapeState.advance(ScrapeState.decode(try row.optionalString("state")), with: snapshot, at: at,
                                                   maxAge: Self.maxReadingAge(interval: try row.optionalInt("interval_seconds") ?? SourceForm.defaultInterval))
                if let current = advanced.current {
                    try Self.writeWindow(conn, d, current.bucket, source: .scraped, evaluate: false, now: at)
                }
                if let completed = advanced.completed {
                    // The finished minute's figures are final now: guardrails judge it, as they judge a simulated minute.
                    try GuardrailStore.evaluate(conn, d, latest: completed.bucket, now: at)
                }
                try conn.execute("""
                    UPDATE inference_sources SET up = 1, down_since = NULL, last_error = NULL, last_scrape_at = $2, last_success_at = $2,
                        state = $3, failures = 0 WHERE deployment_id = $1
                    """, [.int(Int64(d.id)), .date(at), .text(try advanced.state.encoded())])
            }
            return true
        }
    }

    /// When a target that keeps failing is tried again: the interval after the first failure,
    /// then twice, four and at most eight times it (and never more than 5 minutes), so dead
    /// targets, each costing up to the 5 s timeout, do not crowd out the live ones.
    static func retryDelay(interval: Int, failures: Int) -> TimeInterval {
        min(Double(interval) * Double(1 << min(max(failures - 1, 0), 3)), max(Double(interval), 300))
    }

    /// How old a reading may be and still be the baseline of the next: three intervals, and at
    /// least a minute so a slow tick or a timeout on the way does not drop it.
    static func maxReadingAge(interval: Int) -> TimeInterval { max(3 * Double(interval), 60) }

    // MARK: Windows

    /// Stores one minute (replacing what was stored for it) and, when it is the latest, puts it
    /// on the deployment row; `evaluate` checks the guardrails against it.
    static func writeWindow(_ conn: DatabaseConnection, _ d: Deployment, _ bucket: InferenceSimulator.Bucket, source: MetricsSourceKind,
                            evaluate: Bool, now: Date) throws {
        try conn.execute("""
            INSERT INTO inference_metrics (deployment_id, bucket, requests, errors, p50_ms, p95_ms, p99_ms, source, seconds)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (deployment_id, bucket) DO UPDATE SET requests = excluded.requests, errors = excluded.errors,
                p50_ms = excluded.p50_ms, p95_ms = excluded.p95_ms, p99_ms = excluded.p99_ms, source = excluded.source,
                seconds = excluded.seconds
            """, [.int(Int64(d.id)), .date(bucket.start), .int(Int64(bucket.requests)), .int(Int64(bucket.errors)),
                  .double(bucket.p50), .double(bucket.p95), .double(bucket.p99), .text(source.rawValue), .double(bucket.seconds)])
        let latest = try conn.queryOne("SELECT MAX(bucket) AS latest FROM inference_metrics WHERE deployment_id = $1",
                                       [.int(Int64(d.id))])?.optionalDate("latest")
        if latest.map({ $0 <= bucket.start }) ?? true {
            try DeploymentStore.setLatestStats(conn, d.id, bucket, baseline: try DeploymentStore.trafficBaseline(conn, d.id, before: bucket.start))
            if evaluate { try GuardrailStore.evaluate(conn, d, latest: bucket, now: now) }
        }
    }

    /// A stored minute, as the API returns it.
    struct Window: Equatable {
        var source: MetricsSourceKind
        var bucket: InferenceSimulator.Bucket
    }

    /// The deployment's minutes from `since` on, oldest first, at most `limit`.
    func windows(_ id: Int, since: Date, limit: Int) throws -> [Window] {
        try database.query("""
            SELECT bucket, requests, errors, p50_ms, p95_ms, p99_ms, source, seconds FROM inference_metrics
            WHERE deployment_id = $1 AND bucket >= $2 ORDER BY bucket LIMIT $3
            """, [.int(Int64(id)), .date(since), .int(Int64(limit))]).map { row in
            Window(source: MetricsSourceKind(rawValue: try row.string("source")) ?? .simulated,
                   bucket: InferenceSimulator.Bucket(minute: Int((try row.date("bucket").timeIntervalSince1970 / 60).rounded(.down)),
                                                     requests: try row.int("requests"), errors: try row.int("errors"),
                                                     p50: try row.double("p50_ms"), p95: try row.double("p95_ms"),
                                                     p99: try row.double("p99_ms"), seconds: try row.double("seconds")))
        }
    }
}
