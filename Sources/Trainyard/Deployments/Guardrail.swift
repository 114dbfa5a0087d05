import Foundation

/// A per-deployment rule: when `metric` stays above `threshold` for `minutes` consecutive
/// minutes, raise a flag (and, with `.pause`, pause the deployment as the actor "guardrail").
struct Guardrail: Equatable {
    enum Metric: String, CaseIterable, Sendable {
        case p95, p99
        case errorRate = "error_rate"

        var label: String {
            switch self {
            case .p95: "P95 latency"
            case .p99: "P99 latency"
            case .errorRate: "Error rate"
            }
        }

        /// The inference_metrics expression for one minute's value (error rate in percent).
        var sql: String {
            switch self {
            case .p95: "p95_ms"
            case .p99: "p99_ms"
            case .errorRate: "(CASE WHEN requests > 0 THEN 100.0 * errors / requests ELSE 0 END)"
            }
        }

        /// Thresholds are typed in milliseconds for latency and percent for errors.
        var unit: String { self == .errorRate ? "%" : "ms" }

        func value(_ bucket: InferenceSimulator.Bucket) -> Double {
            switch self {
            case .p95: bucket.p95
            case .p99: bucket.p99
            case .errorRate: bucket.errorRate * 100
            }
        }

        func format(_ value: Double) -> String {
            self == .errorRate ? Format.compact((value * 100).rounded() / 100) + " %" : Format.compact(value.rounded()) + " ms"
        }
    }

    enum Action: String, CaseIterable, Sendable {
        case flag, pause

        var label: String { self == .flag ? "Flag it" : "Pause the deployment" }
    }

    var id: Int
    var metric: Metric
    var threshold: Double
    var minutes: Int
    var action: Action
    var createdBy: String
    var createdAt: Date
    var breachedSince: Date?

    /// "P95 latency above 500 ms for 5 minutes".
    var summary: String {
        "\(metric.label) above \(metric.format(threshold)) for \(minutes == 1 ? "1 minute" : "\(minutes) minutes")"
    }
}

/// The limits of a guardrail's fields, for the form, the API and the docs.
enum GuardrailRules {
    static let minutes = IntegerRule(field: "minutes", range: 1...1440, message: "Minutes must be a whole number from 1 to 1440.")
    static let threshold = DecimalRule(field: "threshold", range: 0.001...1_000_000,
                                       message: "The threshold must be a positive number (milliseconds for latency, percent for errors).")
    static let perDeployment = 10
}
