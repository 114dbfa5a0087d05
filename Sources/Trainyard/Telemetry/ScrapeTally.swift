import Foundation
import PrometheusText

/// One minute of scraped figures, built from the increases between consecutive scrapes.
///
/// Each successful scrape at `t` after one at `t0` adds what the counters and buckets grew by
/// to the minute `t` falls in, and `t − t0` to its seconds, so requests/s is the rate over the
/// time actually observed. Quantiles are Prometheus's `histogram_quantile` over the minute's
/// summed bucket increases (seconds on the page, milliseconds here).
struct MinuteTally: Codable, Equatable {
    var minute: Int
    var requests: Double = 0
    var errors: Double = 0
    var seconds: Double = 0
    /// Cumulative bucket increases by upper bound, ascending (`+Inf` last).
    var bounds: [Double] = []
    var counts: [Double] = []
    /// Series that went down between two scrapes of this minute (the target restarted).
    var resets = 0

    init(minute: Int) { self.minute = minute }

    mutating func add(_ increase: Increase, seconds: Double) {
        requests += increase.requests
        errors += increase.errors
        self.seconds += seconds
        resets += increase.resets
        for bucket in increase.buckets {
            if let index = bounds.firstIndex(of: bucket.upperBound) {
                counts[index] += bucket.count
            } else {
                let index = bounds.firstIndex(where: { $0 > bucket.upperBound }) ?? bounds.count
                bounds.insert(bucket.upperBound, at: index)
                counts.insert(bucket.count, at: index)
            }
        }
    }

    /// The estimate of quantile `q` in milliseconds; nil when nothing was observed.
    func quantileMilliseconds(_ q: Double) -> Double? {
        let value = HistogramQuantile.estimate(q, buckets: zip(bounds, counts).map { (upperBound: $0, count: $1) })
        return value.isFinite ? value * 1000 : nil
    }

    /// The row written for this minute. Counts are whole numbers in the table; a failure count
    /// above the request count (a mapping that counts failures elsewhere) is capped at it.
    /// Latency is 0 for a minute without observations, as for a simulated minute without
    /// traffic: readers show no latency where requests are 0.
    var bucket: InferenceSimulator.Bucket {
        let requests = Int(max(self.requests, 0).rounded())
        let errors = min(Int(max(self.errors, 0).rounded()), requests)
        return InferenceSimulator.Bucket(minute: minute, requests: requests, errors: errors,
                                         p50: quantileMilliseconds(0.5) ?? 0, p95: quantileMilliseconds(0.95) ?? 0,
                                         p99: quantileMilliseconds(0.99) ?? 0, seconds: max(seconds, 0.001))
    }
}

/// What the scraper keeps between scrapes of one target: the last successful scrape's series
/// values and when it was taken, and the minute being built. A failed scrape drops the reading
/// (but not the minute so far), so the next success only sets a new baseline: no increase is
/// ever taken across a gap.
struct ScrapeState: Codable, Equatable {
    var previous: Snapshot?
    var previousAt: Double
    var tally: MinuteTally?

    /// After a failed scrape.
    var withoutReading: ScrapeState { ScrapeState(previous: nil, previousAt: previousAt, tally: tally) }

    /// The state after a successful scrape at `at`, and the minutes it changed: the current
    /// one, and the one before when this scrape starts a new minute (it is complete now).
    /// A reading older than `maxAge` (the deployment was paused, say) is not a baseline either:
    /// its increase would be spread over a time nobody watched.
    static func advance(_ state: ScrapeState?, with snapshot: Snapshot, at: Date,
                        maxAge: TimeInterval) -> (state: ScrapeState, current: MinuteTally?, completed: MinuteTally?) {
        let time = at.timeIntervalSince1970
        guard let state, let previous = state.previous, time > state.previousAt, time - state.previousAt <= maxAge else {
            return (ScrapeState(previous: snapshot, previousAt: time, tally: state?.tally), nil, nil)
        }
        let minute = Int((time / 60).rounded(.down))
        var completed: MinuteTally?
        var tally = state.tally ?? MinuteTally(minute: minute)
        if tally.minute != minute {
            completed = tally
            tally = MinuteTally(minute: minute)
        }
        tally.add(Increase(from: previous, to: snapshot), seconds: time - state.previousAt)
        return (ScrapeState(previous: snapshot, previousAt: time, tally: tally), tally, completed)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return decoder
    }()

    func encoded() throws -> String { String(decoding: try Self.encoder.encode(self), as: UTF8.self) }

    /// nil for text that is not a state (written by another version, say): a new baseline.
    static func decode(_ text: String?) -> ScrapeState? {
        guard let text else { return nil }
        return try? decoder.decode(ScrapeState.self, from: Data(text.utf8))
    }
}
