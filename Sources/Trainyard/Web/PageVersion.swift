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
    }

    let database: Database

    /// The sum of the named counters: it moves whenever any of them does, since none goes down.
    func version(of tables: [String]) throws -> Int64 {
        let p = (1...tables.count).map { "$\($0)" }.joined(separator: ", ")
        let row = try database.queryOne("SELECT COALESCE(SUM(version), 0) AS v FROM change_counters WHERE table_name IN (\(p))",
                                        tables.map { .text($0) })
        return Int64(try row?.int("v") ?? 0)
    }
}
