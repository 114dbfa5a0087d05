import Foundation
import PrometheusText
import Testing
@testable import Trainyard

/// How consecutive scrapes become minutes, without a database.
@Suite struct ScrapeTallyTests {
    func snapshot(requests: Double, buckets: [(Double, Double)] = []) -> Snapshot {
        var s = Snapshot()
        s.requests = ["requests_total{status=\"200\"}": requests]
        for (le, count) in buckets { s.buckets["request_latency_seconds_bucket{le=\"\(le)\"}"] = Bucket(upperBound: le, value: count) }
        return s
    }

    func at(_ seconds: Double) -> Date { Date(timeIntervalSince1970: 1_800_000_000 - 1_800_000_000.truncatingRemainder(dividingBy: 60) + seconds) }

    @Test func aMinuteAddsItsIntervalsAndTheNextScrapeCompletesIt() throws {
        var (state, current, completed) = ScrapeState.advance(nil, with: snapshot(requests: 10), at: at(5), maxAge: 60)
        #expect(current == nil && completed == nil, "one reading is only a baseline")
        (state, current, completed) = ScrapeState.advance(state, with: snapshot(requests: 40), at: at(20), maxAge: 60)
        #expect(current?.requests == 30 && current?.seconds == 15 && completed == nil)
        (state, current, completed) = ScrapeState.advance(state, with: snapshot(requests: 70), at: at(50), maxAge: 60)
        #expect(current?.requests == 60 && current?.seconds == 45)
        (state, current, completed) = ScrapeState.advance(state, with: snapshot(requests: 80), at: at(65), maxAge: 60)
        #expect(completed?.requests == 60 && completed?.seconds == 45, "the finished minute, for the guardrails")
        #expect(current?.requests == 10 && current?.seconds == 15 && current?.minute == completed!.minute + 1)
        #expect(current?.bucket.requestsPerSecond == 10.0 / 15)
    }

    @Test func aFailureOrAStaleReadingStartsANewBaselineButKeepsTheMinute() throws {
        var (state, current, _) = ScrapeState.advance(nil, with: snapshot(requests: 10), at: at(5), maxAge: 60)
        (state, current, _) = ScrapeState.advance(state, with: snapshot(requests: 30), at: at(10), maxAge: 60)
        #expect(current?.requests == 20)
        state = state.withoutReading
        (state, current, _) = ScrapeState.advance(state, with: snapshot(requests: 500), at: at(20), maxAge: 60)
        #expect(current == nil, "nothing is taken across the failure")
        (state, current, _) = ScrapeState.advance(state, with: snapshot(requests: 505), at: at(25), maxAge: 60)
        #expect(current?.requests == 25 && current?.seconds == 10, "the minute so far is kept")
        // Paused for an hour: the old reading is no baseline.
        (state, current, _) = ScrapeState.advance(state, with: snapshot(requests: 9000), at: at(3625), maxAge: 60)
        #expect(current == nil)
        // The state survives the JSON it is stored as, +Inf bounds included.
        let withBuckets = ScrapeState.advance(state, with: snapshot(requests: 9010, buckets: [(0.1, 4), (.infinity, 10)]), at: at(3630), maxAge: 60).state
        #expect(ScrapeState.decode(try withBuckets.encoded()) == withBuckets)
        #expect(ScrapeState.decode("not json") == nil)
    }

    @Test func quantilesAreMillisecondsAndAbsentWithoutObservations() {
        var tally = MinuteTally(minute: 1)
        #expect(tally.quantileMilliseconds(0.5) == nil)
        #expect(tally.bucket.p50 == 0 && tally.bucket.requests == 0)
        tally.add(Increase(requests: 4, errors: 9, buckets: [BucketCount(upperBound: 0.1, count: 2), BucketCount(upperBound: .infinity, count: 4)]), seconds: 2)
        #expect(tally.quantileMilliseconds(0.25) == 50)
        #expect(tally.bucket.errors == 4, "failures are capped at the requests")
    }
}
