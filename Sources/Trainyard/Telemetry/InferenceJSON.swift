import Foundation

/// The bodies of the inference API, as `Docs/openapi.json` describes them (snake_case through
/// `JSON.response`; unset values are left out).
enum InferenceJSON {
    /// A deployment's source, and for a scraped one how its scraping stands.
    struct Source: Encodable {
        var kind: String
        var targetUrl: String?
        var intervalSeconds: Int?
        var preset: String?
        var histogram: String?
        var requestsCounter: String?
        var failureCounter: String?
        var errorMatcher: String?
        /// Absent before the first scrape.
        var up: Bool?
        var downSince: String?
        var lastError: String?
        var lastScrapeAt: String?
        var lastSuccessAt: String?

        init(kind: MetricsSourceKind, _ source: InferenceSource?) {
            self.kind = kind.rawValue
            guard let source, source.kind == kind, kind == .scraped else { return }
            targetUrl = source.targetURL; intervalSeconds = source.intervalSeconds; preset = source.preset?.rawValue
            histogram = source.mapping?.histogram; requestsCounter = source.mapping?.requestsCounter
            failureCounter = source.mapping?.failureCounter; errorMatcher = source.mapping?.errorMatcher
            up = source.up; downSince = source.downSince.map(Format.iso); lastError = source.lastError
            lastScrapeAt = source.lastScrapeAt.map(Format.iso); lastSuccessAt = source.lastSuccessAt.map(Format.iso)
        }
    }

    /// One stored minute. Latency is absent for a minute without requests.
    struct Window: Encodable {
        var minute: String
        var source: String
        var seconds: Double
        var requests: Int
        var errors: Int
        var requestsPerSecond: Double
        var errorRate: Double
        var p50Ms: Double?
        var p95Ms: Double?
        var p99Ms: Double?

        init(_ window: InferenceSourceStore.Window) {
            let b = window.bucket
            minute = Format.iso(b.start); source = window.source.rawValue; seconds = b.seconds
            requests = b.requests; errors = b.errors; requestsPerSecond = b.requestsPerSecond; errorRate = b.errorRate
            if b.requests > 0 { p50Ms = b.p50; p95Ms = b.p95; p99Ms = b.p99 }
        }
    }

    /// `GET /api/deployments/{id}/inference`.
    struct Windows: Encodable {
        var deploymentId: Int
        var source: Source
        var since: String
        var windows: [Window]
    }

    /// `POST /api/deployments/{id}/inference`.
    struct Accepted: Encodable {
        var accepted: Int
    }
}
