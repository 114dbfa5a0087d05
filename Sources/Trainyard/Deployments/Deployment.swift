import Foundation

/// A deployment as the pages and the runner read it: the row plus its model's slug and size.
struct Deployment: Equatable {
    var id: Int
    var jobID: Int
    var jobName: String
    var jobSeed: Int
    var model: ModelRef
    var name: String
    var version: String
    var status: DeploymentStatus
    var endpoint: String
    var targetReplicas: Int
    var deployedBy: String
    var createdAt: Date
    var updatedAt: Date
    var deletedAt: Date?
    var stats: DeploymentStats
    var statsAt: Date?
    /// The serving revision, and the one being rolled out beside it (if any).
    var revision: Int
    var rolloutRevision: Int?
    /// When the runner first began starting a replica of the current start or rollout: the
    /// start deadline counts from here, so time the runner was not running does not count.
    var rolloutStartedAt: Date?
    var failureReason: String?
    /// The deployment a rollback-to-version replaces once this one is active.
    var replacesID: Int?
    /// The mean requests per second over the hour before the latest window.
    var rpsBaseline: Double
    /// Set while a guardrail's breach is sustained.
    var attentionSince: Date?
    var attentionReason: String?
    /// Where its inference figures come from (`inference_sources` holds the details).
    var metricsSource: MetricsSourceKind = .simulated

    var modelSlug: String { model.slug }
    var modelName: String { model.name }
    var sizeClass: SizeClass { model.sizeClass }
    var isDeleted: Bool { deletedAt != nil }
}

/// The latest inference window, kept on the deployment row so tables sort by it in SQL.
struct DeploymentStats: Equatable {
    var rps: Double
    var p50: Double
    var p95: Double
    var p99: Double
    var errorRate: Double

    static let zero = DeploymentStats(rps: 0, p50: 0, p95: 0, p99: 0, errorRate: 0)
}

/// How worrying a figure is, by the monitoring guidance's threshold table (Docs: Deployments).
enum Severity: Int, Comparable, Sendable {
    case healthy, warning, critical

    static func < (a: Severity, b: Severity) -> Bool { a.rawValue < b.rawValue }

    var tone: String {
        switch self {
        case .healthy: "success"
        case .warning: "warning"
        case .critical: "danger"
        }
    }

    /// The word beside a flagged figure, so the state reads without colour.
    var word: String {
        switch self {
        case .healthy: "healthy"
        case .warning: "warning"
        case .critical: "critical"
        }
    }
}

/// A figure's severity and the sentence that explains it.
struct HealthCheck: Equatable {
    var severity: Severity
    var note: String
}

/// The threshold table, applied to one window (and the hour before it, for traffic):
///
/// | Metric | Warning | Critical |
/// |---|---|---|
/// | P50 | > 200 ms | > 500 ms |
/// | P95 | > 5× P50 | > 10× P50 |
/// | P99 | > 3× P95 | > 5× P95 |
/// | Error rate | 0.5–2 % | > 2 % |
/// | Traffic | drop > 50 % on the last hour | zero |
extension DeploymentStats {
    static let p50Warning = 200.0, p50Critical = 500.0
    static let p95WarningRatio = 5.0, p95CriticalRatio = 10.0
    static let p99WarningRatio = 3.0, p99CriticalRatio = 5.0
    static let errorWarning = 0.005, errorCritical = 0.02
    static let trafficDropWarning = 0.5

    var p50Health: HealthCheck {
        if p50 > Self.p50Critical { return HealthCheck(severity: .critical, note: "Critical: above 500 ms") }
        if p50 > Self.p50Warning { return HealthCheck(severity: .warning, note: "Warning: above 200 ms") }
        return HealthCheck(severity: .healthy, note: "Healthy: under 200 ms")
    }

    private static func ratio(_ a: Double, _ b: Double) -> Double? { b > 0 ? a / b : nil }
    private static func times(_ r: Double) -> String { Format.fixed(r, 1) + "×" }

    /// The severity alone, for the table, which writes a note only beside a flag.
    var p95Severity: Severity {
        guard let r = Self.ratio(p95, p50) else { return .healthy }
        return r > Self.p95CriticalRatio ? .critical : r > Self.p95WarningRatio ? .warning : .healthy
    }

    var p95Health: HealthCheck {
        guard let r = Self.ratio(p95, p50) else { return HealthCheck(severity: .healthy, note: "no P50 to compare with") }
        let note = switch p95Severity {
        case .critical: "Critical: \(Self.times(r)) P50, above 10×"
        case .warning: "Warning: \(Self.times(r)) P50, above 5×"
        case .healthy: "Healthy: \(Self.times(r)) P50, up to 5×"
        }
        return HealthCheck(severity: p95Severity, note: note)
    }

    var p99Health: HealthCheck {
        guard let r = Self.ratio(p99, p95) else { return HealthCheck(severity: .healthy, note: "no P95 to compare with") }
        if r > Self.p99CriticalRatio { return HealthCheck(severity: .critical, note: "Critical: \(Self.times(r)) P95, above 5×") }
        if r > Self.p99WarningRatio { return HealthCheck(severity: .warning, note: "Warning: \(Self.times(r)) P95, above 3×") }
        return HealthCheck(severity: .healthy, note: "Healthy: \(Self.times(r)) P95, up to 3×")
    }

    var errorHealth: HealthCheck {
        if errorRate > Self.errorCritical { return HealthCheck(severity: .critical, note: "Critical: above 2 %") }
        if errorRate >= Self.errorWarning { return HealthCheck(severity: .warning, note: "Warning: 0.5–2 %") }
        return HealthCheck(severity: .healthy, note: "Healthy: under 0.5 %")
    }

    /// Against `baseline`, the mean requests per second of the hour before (0: none yet).
    func trafficSeverity(baseline: Double) -> Severity {
        guard baseline > 0 else { return .healthy }
        if rps <= 0 { return .critical }
        return 1 - rps / baseline > Self.trafficDropWarning ? .warning : .healthy
    }

    func trafficHealth(baseline: Double) -> HealthCheck {
        guard baseline > 0 else { return HealthCheck(severity: .healthy, note: "no earlier hour to compare with yet") }
        if rps <= 0 { return HealthCheck(severity: .critical, note: "Critical: no traffic (last hour \(Format.requestsPerSecond(baseline)) req/s)") }
        let drop = 1 - rps / baseline
        if drop > Self.trafficDropWarning {
            return HealthCheck(severity: .warning, note: "Warning: down \(Int((drop * 100).rounded())) % on the last hour")
        }
        return HealthCheck(severity: .healthy, note: "Stable: last hour \(Format.requestsPerSecond(baseline)) req/s")
    }
}

/// A row of the deployments table: only what the table shows.
struct DeploymentListRow {
    var id: Int
    var modelName: String
    var name: String
    var version: String
    var status: DeploymentStatus
    var targetReplicas: Int
    var runningReplicas: Int
    var stats: DeploymentStats
    var rpsBaseline: Double
    var needsAttention: Bool
    var createdAt: Date
    var metricsSource: MetricsSourceKind = .simulated
    /// A scraped source whose last scrape failed.
    var scrapeDown = false
}

/// A replica's state; the runner moves them along at the simulation's pace.
enum ReplicaStatus: String, CaseIterable, Sendable, BadgeStatus {
    case pending, starting, running, stopping, stopped, failed

    var label: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
    static let badges = Badge.table(ReplicaStatus.self)

    var tone: String {
        switch self {
        case .pending, .starting: "info"
        case .running: "success"
        case .stopping, .stopped: "neutral"
        case .failed: "danger"
        }
    }

    var icon: String {
        switch self {
        case .pending: "clock"
        case .starting: "loader"
        case .running: "check"
        case .stopping: "pause"
        case .stopped: "pause"
        case .failed: "x"
        }
    }
}

struct DeploymentReplica {
    var id: Int
    var ordinal: Int
    var revision: Int
    var status: ReplicaStatus
    var updatedAt: Date
    var restarts: Int
    var lastFailure: String?
    var retryAt: Date?
}

struct DeploymentResources: Equatable {
    var cpu: Double
    var memoryMB: Int
    var gpu: Int
    var storageGB: Int

    /// What a deployment gets when the Deploy button is pressed without choosing: sized to the model.
    static func defaults(for size: SizeClass) -> (replicas: Int, resources: DeploymentResources) {
        switch size {
        case .nano: (1, DeploymentResources(cpu: 2, memoryMB: 4096, gpu: 0, storageGB: 10))
        case .small: (2, DeploymentResources(cpu: 4, memoryMB: 16384, gpu: 1, storageGB: 20))
        case .large: (2, DeploymentResources(cpu: 8, memoryMB: 32768, gpu: 1, storageGB: 50))
        }
    }
}

/// The limits of a deployment's replicas and resources, defined once for the form, the store,
/// the templates and the docs.
enum DeploymentRules {
    static let replicas = IntegerRule(field: "replicas", range: 1...100, message: "Replicas must be a whole number from 1 to 100.")
    static let cpu = DecimalRule(field: "cpu", range: 0.5...32, message: "CPU must be a number of cores from 0.5 to 32.")
    static let memoryMB = IntegerRule(field: "memory_mb", range: 512...65536, message: "Memory must be a whole number of MB from 512 to 65536.")
    static let gpu = IntegerRule(field: "gpu", range: 0...8, message: "GPUs must be a whole number from 0 to 8.")
    static let storageGB = IntegerRule(field: "storage_gb", range: 1...1000, message: "Storage must be a whole number of GB from 1 to 1000.")
    static let name = TextRule(field: "name", maxScalars: 100, message: "Keep the deployment name to 100 characters or fewer.")

    /// Checks what a store is about to write.
    static func check(replicas: Int, _ r: DeploymentResources) throws {
        try Self.replicas.check(replicas)
        try cpu.check(r.cpu)
        try memoryMB.check(r.memoryMB)
        try gpu.check(r.gpu)
        try storageGB.check(r.storageGB)
    }
}

/// What a history row records; with the row's status, revision and replica count it is a
/// snapshot of the deployment after the event.
enum DeploymentEvent: String, CaseIterable, Sendable {
    case deploy, activate, pause, resume, scale, revision, rollout
    case rolloutFailed = "rollout_failed"
    case rollback, fail, retry, delete, replaced
    case guardrailBreach = "guardrail_breach"
    case guardrailRecovery = "guardrail_recovery"
    /// The metrics source changed (figures before it were deleted, or come from elsewhere).
    case source
    /// Rows from before events were recorded, when not otherwise recognisable.
    case status

    /// The word on chart markers and in the legend.
    var label: String {
        switch self {
        case .deploy: "Deployed"
        case .activate: "Serving"
        case .pause: "Paused"
        case .resume: "Resumed"
        case .scale: "Scaled"
        case .revision: "New revision"
        case .rollout: "Rolled out"
        case .rolloutFailed: "Rollout failed"
        case .rollback: "Rollback"
        case .fail: "Failed"
        case .retry: "Retried"
        case .delete: "Deleted"
        case .replaced: "Replaced"
        case .guardrailBreach: "Guardrail breach"
        case .guardrailRecovery: "Guardrail recovery"
        case .source: "Metrics source"
        case .status: "Status"
        }
    }

    /// A one-letter mark drawn on the chart, so markers read without colour.
    var mark: String {
        switch self {
        case .deploy, .activate: "D"
        case .pause: "P"
        case .resume, .retry: "R"
        case .scale: "S"
        case .revision, .rollout, .rolloutFailed: "V"
        case .rollback: "B"
        case .fail, .delete, .replaced, .status: "X"
        case .guardrailBreach, .guardrailRecovery: "G"
        case .source: "M"
        }
    }
}

struct DeploymentHistoryEntry {
    var id: Int
    var oldStatus: String?
    var newStatus: String
    var event: DeploymentEvent
    var revision: Int?
    var replicas: Int?
    var changedBy: String
    var reason: String
    var at: Date
}

/// A config snapshot: replicas and resources, who made it and why. Append-only.
struct DeploymentRevision: Equatable {
    var number: Int
    var replicas: Int
    var resources: DeploymentResources
    var createdBy: String
    var createdAt: Date
    var reason: String
    /// For a rollback: the revision whose config this copies.
    var sourceRevision: Int?
    /// Why its rollout failed (written once).
    var failedReason: String?

    /// "replicas 2 → 4, memory 8 GB → 16 GB" against `old`; empty when nothing differs.
    func changes(from old: DeploymentRevision) -> [String] {
        var out: [String] = []
        if replicas != old.replicas { out.append("replicas \(old.replicas) → \(replicas)") }
        if resources.cpu != old.resources.cpu {
            out.append("CPU \(Format.compact(old.resources.cpu)) → \(Format.compact(resources.cpu)) cores")
        }
        if resources.memoryMB != old.resources.memoryMB {
            out.append("memory \(Format.memory(megabytes: old.resources.memoryMB)) → \(Format.memory(megabytes: resources.memoryMB))")
        }
        if resources.gpu != old.resources.gpu { out.append("GPUs \(old.resources.gpu) → \(resources.gpu)") }
        if resources.storageGB != old.resources.storageGB { out.append("storage \(old.resources.storageGB) → \(resources.storageGB) GB") }
        return out
    }
}
