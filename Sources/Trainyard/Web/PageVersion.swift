import Foundation
import HTTPServer
import Storage

/// What a page's content follows, for its `ETag`: the change counters of the tables it reads
/// (`change_counters`, kept by triggers in the same transaction as every write).
///
/// The tag also covers what is not in those tables: the templates, who is asking (name, role,
/// the CSRF token in its forms) and the clock in 10-second steps, since pages say "3 minutes
/// ago". A reload whose tag still matches is a `304` before the handler runs: no query of the
/// page's own, no render.
struct PageVersion: Sendable {
    /// Table names in `change_counters`; `*` counts a write to any of them.
    let tables: [String]

    /// Any table: for pages that read many.
    static let anyTable = PageVersion(tables: ["*"])

    init(tables: [String]) { self.tables = tables }
    init(_ tables: ChangeCounters.Table...) { self.tables = tables.map(\.rawValue) }

    /// How long a tag stands for a page that says "N minutes ago".
    static let clockStep: Double = 10
}

/// Reads `change_counters`.
struct ChangeCounters {
    /// The tables with a counter (the migration's list).
    enum Table: String, CaseIterable {
        case apiTokens = "api_tokens", auditLog = "audit_log", deploymentGuardrails = "deployment_guardrails"
        case deploymentReplicas = "deployment_replicas", deploymentResources = "deployment_resources"
        case deploymentRevisions = "deployment_revisions", deploymentStatusCounts = "deployment_status_counts"
        case deploymentStatusHistory = "deployment_status_history", deployments, experimentTags = "experiment_tags"
        case experiments, inferenceMetrics = "inference_metrics", inferenceSources = "inference_sources"
        case jobMetricSummaries = "job_metric_summaries", jobMetrics = "job_metrics", jobParams = "job_params"
        case jobStatusCounts = "job_status_counts", jobTags = "job_tags", models, trainingJobs = "training_jobs", users
        /// Version 10; it moves only its own counter, not `*`.
        case sessions
    }

    let database: Database

    /// The named counters, read together: their sum moves whenever any of them does, since none
    /// goes down.
    func reading(of tables: [String]) throws -> CounterReading {
        guard !tables.isEmpty else { return CounterReading(versions: [:]) }
        let sql = tables.count <= Self.statements.count ? Self.statements[tables.count - 1] : Self.statement(tables.count)
        var versions = [String: Int64](minimumCapacity: tables.count)
        // Each row names its table by its place in `tables`: reading the names back made a
        // string per counter (most are longer than fit inline), on every page.
        for row in try database.query(sql, tables.map { .text($0) }) {
            let slot = try row.int("slot")
            guard slot >= 1 && slot <= tables.count else { continue }
            versions[tables[slot - 1]] = Int64(try row.int("version"))
        }
        return CounterReading(versions: versions)
    }

    /// Every page reads its counters; the statement for each count of tables is written once.
    private static let statements = (1...12).map(statement)

    private static func statement(_ count: Int) -> String {
        let p = (1...count).map { "$\($0)" }
        let slots = p.enumerated().map { "WHEN \($1) THEN \($0 + 1)" }.joined(separator: " ")
        return "SELECT CASE table_name \(slots) END AS slot, version FROM change_counters WHERE table_name IN (\(p.joined(separator: ", ")))"
    }
}

/// The change counters a page's tag was made from, kept on its context so the page can skip a
/// read whose table has not changed since it last made it (see `CountsCache`).
struct CounterReading: Sendable {
    let versions: [String: Int64]

    /// What a tag is made from: the sum of `tables`' counters.
    func sum(of tables: [String]) -> Int64 { tables.reduce(0) { $0 + (versions[$1] ?? 0) } }

    /// The counter read that moves when `table` changes: its own, else `*` (any table).
    func stamp(for table: ChangeCounters.Table) -> CounterStamp? {
        if let version = versions[table.rawValue] { return CounterStamp(counter: table.rawValue, version: version) }
        return versions["*"].map { CounterStamp(counter: "*", version: $0) }
    }
}

/// One counter's value at a read.
struct CounterStamp: Equatable, Sendable {
    let counter: String
    let version: Int64
}

/// A table's per-status counts (a list's filter chips, the dashboard's tiles), read again only
/// when the counter covering them has moved: a page that has just read the change counters for
/// its tag saves one query (a round trip on PostgreSQL).
///
/// The counters are read before the counts, so counts kept under a stamp are at least as new as
/// it; a later write moves the counter and the next page reads again. Without a stamp (no tag:
/// a POST's page, a flash) the counts are always read.
final class CountsCache<Status: Hashable & Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stamp: CounterStamp?
    private var counts: [Status: Int] = [:]

    func counts(at stamp: CounterStamp?, read: () throws -> [Status: Int]) rethrows -> [Status: Int] {
        guard let stamp else { return try read() }
        if let kept = lock.withLock({ self.stamp == stamp ? counts : nil }) { return kept }
        let fresh = try read()
        lock.withLock {
            // Never replace newer counts of the same counter with older ones.
            if self.stamp?.counter != stamp.counter || self.stamp!.version < stamp.version {
                self.stamp = stamp
                counts = fresh
            }
        }
        return fresh
    }
}
