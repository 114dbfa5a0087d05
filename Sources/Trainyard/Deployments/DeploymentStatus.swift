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
