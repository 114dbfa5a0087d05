import Foundation

/// Which series of a target's page Trainyard follows: one latency histogram, one requests
/// counter, and how to tell errors (a failure counter, or matchers on the requests counter).
public struct SeriesSelection: Sendable, Equatable, Codable {
    /// Histogram family name, e.g. `request_latency_seconds`: its `<histogram>_bucket`
    /// samples with an `le` label are used.
    public var histogram: String
    /// Sample name of the requests counter. A name without `_total` also matches
    /// `<name>_total`, since OpenMetrics (and most 0.0.4 clients) add that suffix.
    public var requestsCounter: String
    /// Sample name of a separate failure counter, matched like `requestsCounter`.
    public var failureCounter: String?
    /// Used when `failureCounter` is nil: the errors are the requests counter's series that
    /// match all of these (an empty list matches every series).
    public var errorMatchers: [LabelMatcher]?

    public init(histogram: String, requestsCounter: String, failureCounter: String? = nil,
                errorMatchers: [LabelMatcher]? = nil) {
        self.histogram = histogram
        self.requestsCounter = requestsCounter
        self.failureCounter = failureCounter
        self.errorMatchers = errorMatchers
    }
}

/// One `_bucket` series' value with its parsed `le`.
public struct Bucket: Sendable, Equatable, Codable {
    /// The `le` label as a number, `+Inf` → `.infinity`.
    public var upperBound: Double
    public var value: Double

    public init(upperBound: Double, value: Double) {
        self.upperBound = upperBound
        self.value = value
    }

    private enum CodingKeys: String, CodingKey { case upperBound, value }

    /// Every histogram has a `+Inf` bucket, which a default `JSONEncoder` refuses to write as a
    /// number; non-finite bounds are therefore written as the strings `+Inf`, `-Inf`, `NaN`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if upperBound.isFinite {
            try container.encode(upperBound, forKey: .upperBound)
        } else {
            try container.encode(upperBound.isNaN ? "NaN" : upperBound > 0 ? "+Inf" : "-Inf", forKey: .upperBound)
        }
        try container.encode(value, forKey: .value)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let number = try? container.decode(Double.self, forKey: .upperBound) {
            upperBound = number
        } else {
            let text = try container.decode(String.self, forKey: .upperBound)
            guard let number = ByteText.parseDouble(text) else {
                throw DecodingError.dataCorruptedError(forKey: .upperBound, in: container,
                                                       debugDescription: "not a bucket bound: \(text)")
            }
            upperBound = number
        }
        value = try container.decode(Double.self, forKey: .value)
    }
}

/// One scrape's values of the selected series, keyed by a canonical series key (name + sorted
/// labels, rendered `name{a="1",b="2"}`), so that two scrapes can be compared series by series.
public struct Snapshot: Sendable, Equatable, Codable {
    public var requests: [String: Double]
    public var errors: [String: Double]
    /// The key includes `le`; samples whose `le` is missing, not a number, or NaN are left out
    /// (Prometheus skips unparsable `le` values too).
    public var buckets: [String: Bucket]
    /// Names from the selection with no matching sample on the page (histogram, requests
    /// counter, failure counter), so Trainyard can say "no series named X" instead of showing
    /// zeros.
    public var missing: [String]

    public init(requests: [String: Double] = [:], errors: [String: Double] = [:],
                buckets: [String: Bucket] = [:], missing: [String] = []) {
        self.requests = requests
        self.errors = errors
        self.buckets = buckets
        self.missing = missing
    }

    /// When a series occurs more than once (OpenMetrics points with increasing timestamps),
    /// the last one wins.
    public init(_ exposition: Exposition, selecting selection: SeriesSelection) {
        let bucketName = selection.histogram + "_bucket"
        let requests = CounterName(selection.requestsCounter)
        let failures = selection.failureCounter.map(CounterName.init)
        let matchers = selection.failureCounter == nil ? selection.errorMatchers : nil

        var requestValues: [String: Double] = [:]
        var errorValues: [String: Double] = [:]
        var bucketValues: [String: Bucket] = [:]
        var sawHistogram = false
        var sawRequests = false
        var sawFailures = false

        for sample in exposition.samples {
            if sample.name == bucketName {
                sawHistogram = true
                if let le = sample.label("le"), let bound = ByteText.parseDouble(le), !bound.isNaN {
                    bucketValues[sample.seriesKey] = Bucket(upperBound: bound, value: sample.value)
                }
            }
            if requests.matches(sample.name) {
                sawRequests = true
                let key = sample.seriesKey
                requestValues[key] = sample.value
                if let matchers, matchers.allSatisfy({ $0.matches(sample.labels) }) {
                    errorValues[key] = sample.value
                }
            }
            if let failures, failures.matches(sample.name) {
                sawFailures = true
                errorValues[sample.seriesKey] = sample.value
            }
        }

        var missing: [String] = []
        if !sawHistogram { missing.append(selection.histogram) }
        if !sawRequests { missing.append(selection.requestsCounter) }
        if let failure = selection.failureCounter, !sawFailures { missing.append(failure) }
        self.init(requests: requestValues, errors: errorValues, buckets: bucketValues, missing: missing)
    }
}

/// A counter's sample name, also matching `<name>_total` when it has no `_total` itself.
private struct CounterName {
    let name: String
    let withTotal: String?

    init(_ name: String) {
        self.name = name
        self.withTotal = name.hasSuffix("_total") ? nil : name + "_total"
    }

    func matches(_ sampleName: String) -> Bool {
        sampleName == name || (withTotal != nil && sampleName == withTotal)
    }
}

/// A bucket's count over an interval (cumulative, like the `_bucket` samples).
public struct BucketCount: Sendable, Equatable {
    public var upperBound: Double
    public var count: Double

    public init(upperBound: Double, count: Double) {
        self.upperBound = upperBound
        self.count = count
    }
}

/// How much the selected counters grew between two scrapes, summed over their series.
public struct Increase: Sendable, Equatable {
    public var requests: Double
    public var errors: Double
    /// Summed over series by `le`, sorted by upper bound ascending.
    public var buckets: [BucketCount]
    /// Series whose value went down between the scrapes (counted once even when a series is
    /// both a request and an error series).
    public var resets: Int

    public static let zero = Increase()

    public init(requests: Double = 0, errors: Double = 0, buckets: [BucketCount] = [], resets: Int = 0) {
        self.requests = requests
        self.errors = errors
        self.buckets = buckets
        self.resets = resets
    }

    /// Per series: absent in `previous` → its whole current value (a series created since the
    /// previous scrape, e.g. the first 500); lower than before → its whole current value (a
    /// counter reset: the target restarted); otherwise current − previous. Series present before
    /// but absent now contribute nothing. Each `_bucket` series (including its `le`) is handled
    /// separately, as Prometheus's `increase()` does, then summed by `le`. Unlike `increase()`
    /// nothing is extrapolated: this is the plain difference between two scrapes.
    public init(from previous: Snapshot, to current: Snapshot) {
        var resetSeries = Set<String>()
        func grown(_ key: String, _ now: Double, _ before: Double?) -> Double {
            guard let before else { return now }
            if now < before {
                resetSeries.insert(key)
                return now
            }
            return now - before
        }
        // Summed in key order so the result does not depend on dictionary order.
        var requests = 0.0
        for key in current.requests.keys.sorted() {
            requests += grown(key, current.requests[key]!, previous.requests[key])
        }
        var errors = 0.0
        for key in current.errors.keys.sorted() {
            errors += grown(key, current.errors[key]!, previous.errors[key])
        }
        var byBound: [Double: Double] = [:]
        for key in current.buckets.keys.sorted() {
            let bucket = current.buckets[key]!
            byBound[bucket.upperBound, default: 0] += grown(key, bucket.value, previous.buckets[key]?.value)
        }
        self.init(requests: requests, errors: errors, buckets: Self.sorted(byBound), resets: resetSeries.count)
    }

    /// Accumulates another interval (several scrapes into one minute): requests, errors and
    /// resets add; bucket counts add by upper bound over the union of bounds.
    public mutating func add(_ other: Increase) {
        requests += other.requests
        errors += other.errors
        resets += other.resets
        var byBound: [Double: Double] = [:]
        for bucket in buckets { byBound[bucket.upperBound, default: 0] += bucket.count }
        for bucket in other.buckets { byBound[bucket.upperBound, default: 0] += bucket.count }
        buckets = Self.sorted(byBound)
    }

    /// `HistogramQuantile.estimate(q, buckets: buckets)`.
    public func quantile(_ q: Double) -> Double {
        HistogramQuantile.estimate(q, buckets: buckets)
    }

    private static func sorted(_ byBound: [Double: Double]) -> [BucketCount] {
        byBound.map { BucketCount(upperBound: $0.key, count: $0.value) }.sorted { $0.upperBound < $1.upperBound }
    }
}
