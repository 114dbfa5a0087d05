import Foundation
import PrometheusText

/// Where a deployment's inference figures come from. All three write the same per-minute rows,
/// so charts, cards, thresholds and guardrails never ask which it was.
enum MetricsSourceKind: String, CaseIterable, Equatable, Sendable {
    /// The simulation runner's numbers (the default, and the demo's).
    case simulated
    /// Read from a model server's Prometheus `/metrics` page every interval.
    case scraped
    /// Sent by the model server (or a job beside it) to `POST /api/deployments/{id}/inference`.
    case pushed

    var label: String {
        switch self {
        case .simulated: "Simulated"
        case .scraped: "Scraped from Prometheus metrics"
        case .pushed: "Pushed through the API"
        }
    }
}

/// Which series of a metrics page are the request latency, the requests and the failures.
struct ScrapeMapping: Equatable, Sendable {
    /// A histogram family in seconds (its `_bucket` series are read).
    var histogram: String
    /// A counter of every request (a name without `_total` also matches `<name>_total`).
    var requestsCounter: String
    /// A counter of failed requests; or else
    var failureCounter: String?
    /// the requests counter's series that are failures, as Prometheus label matchers.
    var errorMatcher: String?

    func selection() throws -> SeriesSelection {
        SeriesSelection(histogram: histogram, requestsCounter: requestsCounter, failureCounter: failureCounter,
                        errorMatchers: try errorMatcher.map(LabelMatcher.parseList))
    }
}

/// Mappings for model servers whose metric names are known.
enum ScrapePreset: String, CaseIterable, Sendable {
    case vllm
    case tgi
    case prometheusClient = "prometheus_client"
    case custom

    var label: String {
        switch self {
        case .vllm: "vLLM"
        case .tgi: "Hugging Face TGI"
        case .prometheusClient: "prometheus_client histogram"
        case .custom: "Custom (the names below)"
        }
    }

    /// The preset's names; nil for `custom`, whose names are typed in.
    var mapping: ScrapeMapping? {
        switch self {
        // vLLM counts finished requests by reason; an aborted request is the failure.
        case .vllm: ScrapeMapping(histogram: "vllm:e2e_request_latency_seconds", requestsCounter: "vllm:request_success_total",
                                  failureCounter: nil, errorMatcher: #"finished_reason="abort""#)
        case .tgi: ScrapeMapping(histogram: "tgi_request_duration", requestsCounter: "tgi_request_count",
                                 failureCounter: "tgi_request_failure", errorMatcher: nil)
        case .prometheusClient: ScrapeMapping(histogram: "request_latency_seconds", requestsCounter: "requests_total",
                                              failureCounter: nil, errorMatcher: #"status=~"5..""#)
        case .custom: nil
        }
    }
}

/// A deployment's non-simulated source and how its scraping stands.
struct InferenceSource: Equatable {
    var deploymentID: Int
    var kind: MetricsSourceKind
    var targetURL: String?
    var intervalSeconds: Int?
    var preset: ScrapePreset?
    var mapping: ScrapeMapping?
    var generation: Int
    var nextScrapeAt: Date?
    var lastScrapeAt: Date?
    var lastSuccessAt: Date?
    /// nil before the first scrape.
    var up: Bool?
    var downSince: Date?
    var lastError: String?
    var updatedBy: String
    var updatedAt: Date
}

/// What an operator chose on the form or in the API.
struct SourceChoice: Equatable {
    var kind: MetricsSourceKind
    var targetURL: String?
    var intervalSeconds: Int?
    var preset: ScrapePreset?
    var mapping: ScrapeMapping?

    static let simulated = SourceChoice(kind: .simulated)
    static let pushed = SourceChoice(kind: .pushed)

    init(kind: MetricsSourceKind, targetURL: String? = nil, intervalSeconds: Int? = nil, preset: ScrapePreset? = nil, mapping: ScrapeMapping? = nil) {
        self.kind = kind; self.targetURL = targetURL; self.intervalSeconds = intervalSeconds; self.preset = preset; self.mapping = mapping
    }
}
