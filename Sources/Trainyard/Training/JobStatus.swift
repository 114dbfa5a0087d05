/// A training job's lifecycle: queued → running → complete, or → failed (diverged or stopped).
public enum JobStatus: String, CaseIterable, Sendable {
    case queued, running, complete, failed

    public var label: String {
        switch self {
        case .queued: "Queued"
        case .running: "Running"
        case .complete: "Complete"
        case .failed: "Failed"
        }
    }

    /// Icon name in the sprite; badges carry colour, icon and text, never colour alone.
    public var icon: String {
        switch self {
        case .queued: "clock"
        case .running: "play"
        case .complete: "check"
        case .failed: "x"
        }
    }

    public var tone: String {
        switch self {
        case .queued: "neutral"
        case .running: "info"
        case .complete: "success"
        case .failed: "danger"
        }
    }
}

extension JobStatus: ListStatusFilter, BadgeStatus {
    static let badges = Badge.table(JobStatus.self)
}

/// The columns the jobs list sorts by (`?sort=`).
enum JobSortKey: String, ListSortKey {
    case name, model, experiment, status, epochs
    case learningRate = "lr"
    case progress, created

    var header: String {
        switch self {
        case .name: "Job"
        case .model: "Model"
        case .experiment: "Experiment"
        case .status: "Status"
        case .epochs: "Epochs"
        case .learningRate: "Learning rate"
        case .progress: "Progress"
        case .created: "Created"
        }
    }

    var sortLabel: String {
        switch self {
        case .name: "name"
        case .learningRate: "learning rate"
        default: header.lowercased()
        }
    }

    var firstDirection: TableQuery.Direction {
        switch self {
        case .name, .model, .experiment, .status: .asc
        case .epochs, .learningRate, .progress, .created: .desc
        }
    }

    var isNumeric: Bool {
        switch self {
        case .epochs, .learningRate, .progress: true
        case .name, .model, .experiment, .status, .created: false
        }
    }
}
