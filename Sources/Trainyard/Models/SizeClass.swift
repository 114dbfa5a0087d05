/// How big a model is; it sets the base inference latency and how fast training converges.
public enum SizeClass: String, CaseIterable, Sendable {
    case nano, small, large

    /// nano < 1B parameters, small 1–3B (up to 7B), large ≥ 7B.
    public static func forParameters(_ count: Int64) -> SizeClass {
        if count < 1_000_000_000 { return .nano }
        if count < 7_000_000_000 { return .small }
        return .large
    }

    public var label: String {
        switch self {
        case .nano: "Nano"
        case .small: "Small"
        case .large: "Large"
        }
    }
}
