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

    /// Thresholds from the monitoring guidance: P50 above 200 ms is a warning, P95 above 500 ms
    /// and errors above 1 % are critical.
    static let p50Warning = 200.0, p95Critical = 500.0, errorCritical = 0.01

    var p50IsHigh: Bool { p50 > Self.p50Warning }
    var p95IsHigh: Bool { p95 > Self.p95Critical }
    var errorsAreHigh: Bool { errorRate > Self.errorCritical }
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
    var createdAt: Date
}

/// A replica's state; the runner moves them along at the simulation's pace.
enum ReplicaStatus: String, CaseIterable, Sendable, BadgeStatus {
    case pending, starting, running, stopping, stopped, failed

    var label: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }

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
    /// Rows from before events were recorded, when not otherwise recognisable.
    case status

    /// The word on chart markers and in the legend.
    var label: String {
        switch self {
        case .deploy: "Deploy"
        case .activate: "Active"
        case .pause: "Pause"
        case .resume: "Resume"
        case .scale: "Scale"
        case .revision: "Revision"
        case .rollout: "Rolled out"
        case .rolloutFailed: "Rollout failed"
        case .rollback: "Rollback"
        case .fail: "Failed"
        case .retry: "Retry"
        case .delete: "Deleted"
        case .replaced: "Replaced"
        case .guardrailBreach: "Guardrail breach"
        case .guardrailRecovery: "Guardrail recovery"
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
