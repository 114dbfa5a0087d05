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
