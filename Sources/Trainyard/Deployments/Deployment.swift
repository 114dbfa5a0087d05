import Foundation

/// A deployment as the pages and the runner read it: the row plus its model's slug and size.
struct Deployment {
    var id: Int
    var jobID: Int
    var jobName: String
    var jobSeed: Int
    var modelID: Int
    var modelSlug: String
    var modelName: String
    var sizeClass: SizeClass
    var name: String
    var version: String
    var status: DeploymentStatus
    var endpoint: String
    var targetReplicas: Int
    var deployedBy: String
    var createdAt: Date
    var updatedAt: Date
    var deletedAt: Date?
    var rps: Double
    var p50: Double
    var p95: Double
    var p99: Double
    var errorRate: Double
    var statsAt: Date?

    var isDeleted: Bool { deletedAt != nil }
}

/// A replica's state; the runner moves them along at the simulation's pace.
enum ReplicaStatus: String, CaseIterable, Sendable {
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

    /// States that count towards serving (or about to serve) traffic.
    static let live: [ReplicaStatus] = [.pending, .starting, .running]
}

struct DeploymentReplica {
    var id: Int
    var ordinal: Int
    var status: ReplicaStatus
    var updatedAt: Date
}

struct DeploymentResources: Equatable {
    var cpu: Double
    var memoryMB: Int
    var gpu: Int
    var storageGB: Int

    static let cpuRange = 0.5...32.0
    static let memoryRange = 512...65536
    static let gpuRange = 0...8
    static let storageRange = 1...1000
    static let replicaRange = 1...100

    /// What a deployment gets when the Deploy button is pressed without choosing: sized to the model.
    static func defaults(for size: SizeClass) -> (replicas: Int, resources: DeploymentResources) {
        switch size {
        case .nano: (1, DeploymentResources(cpu: 2, memoryMB: 4096, gpu: 0, storageGB: 10))
        case .small: (2, DeploymentResources(cpu: 4, memoryMB: 16384, gpu: 1, storageGB: 20))
        case .large: (2, DeploymentResources(cpu: 8, memoryMB: 32768, gpu: 1, storageGB: 50))
        }
    }
}

struct DeploymentHistoryEntry {
    var oldStatus: String?
    var newStatus: String
    var changedBy: String
    var reason: String
    var at: Date
}
