/// A deployment's lifecycle: deploying → active ⇄ paused, or → failed. Deleted is `deleted_at`, not a status.
public enum DeploymentStatus: String, CaseIterable, Sendable {
    case deploying, active, paused, failed

    /// Statuses that hold the job's one live deployment.
    public static let live: [DeploymentStatus] = [.deploying, .active, .paused]

    public var label: String {
        switch self {
        case .deploying: "Deploying"
        case .active: "Active"
        case .paused: "Paused"
        case .failed: "Failed"
        }
    }

    public var icon: String {
        switch self {
        case .deploying: "loader"
        case .active: "check"
        case .paused: "pause"
        case .failed: "x"
        }
    }

    public var tone: String {
        switch self {
        case .deploying: "info"
        case .active: "success"
        case .paused: "warning"
        case .failed: "danger"
        }
    }
}

extension DeploymentStatus: ListStatusFilter, BadgeStatus {
    static let badges = Badge.table(DeploymentStatus.self)
}

/// The columns the deployments table sorts by (`?sort=`).
enum DeploymentSortKey: String, ListSortKey {
    case model, version, status, rps, p50, p95, p99, errors, created

    var header: String {
        switch self {
        case .model: "Model"
        case .version: "Version"
        case .status: "Status"
        case .rps: "Req/s"
        case .p50: "P50"
        case .p95: "P95"
        case .p99: "P99"
        case .errors: "Errors"
        case .created: "Deployed"
        }
    }

    var sortLabel: String {
        switch self {
        case .model, .version, .status: rawValue
        case .rps: "requests per second"
        case .p50: "P50 latency"
        case .p95: "P95 latency"
        case .p99: "P99 latency"
        case .errors: "error rate"
        case .created: "deployed"
        }
    }

    var firstDirection: TableQuery.Direction {
        switch self {
        case .model, .status: .asc
        default: .desc
        }
    }

    var isNumeric: Bool {
        switch self {
        case .rps, .p50, .p95, .p99, .errors: true
        default: false
        }
    }
}
