import Foundation
import XCTest
import PrometheusText

final class SnapshotTests: XCTestCase {
    private let selection = SeriesSelection(
        histogram: "request_latency_seconds",
        requestsCounter: "http_requests",
        errorMatchers: [try! LabelMatcher(name: "code", op: .matches, value: "5..")]
    )

    private func snapshot(_ page: String, _ selection: SeriesSelection? = nil,
                          file: StaticString = #filePath, line: UInt = #line) throws -> Snapshot {
        Snapshot(try parsed(page, file: file, line: line), selecting: selection ?? self.selection)
    }

    private let before = """
    # TYPE http_requests_total counter
    http_requests_total{code="200",method="get"} 100
    http_requests_total{code="500",method="get"} 5
    http_requests_total{code="404",method="get"} 7
    # TYPE request_latency_seconds histogram
    request_latency_seconds_bucket{instance="a",le="0.1"} 10
    request_latency_seconds_bucket{instance="a",le="0.5"} 20
    request_latency_seconds_bucket{instance="a",le="+Inf"} 30
    request_latency_seconds_bucket{instance="b",le="0.1"} 100
    request_latency_seconds_bucket{instance="b",le="0.5"} 200
    request_latency_seconds_bucket{instance="b",le="+Inf"} 300
    request_latency_seconds_sum{instance="a"} 1
    request_latency_seconds_count{instance="a"} 30
    """

    private let after = """
    # TYPE http_requests_total counter
    http_requests_total{method="get",code="200"} 150
    http_requests_total{code="500",method="get"} 2
    http_requests_total{code="503",method="get"} 4
    # TYPE request_latency_seconds histogram
    request_latency_seconds_bucket{instance="a",le="0.1"} 15
    request_latency_seconds_bucket{instance="a",le="0.5"} 30
    request_latency_seconds_bucket{instance="a",le="+Inf"} 40
    request_latency_seconds_bucket{instance="b",le="0.1"} 1
    request_latency_seconds_bucket{instance="b",le="0.5"} 2
    request_latency_seconds_bucket{instance="b",le="+Inf"} 3
    request_latency_seconds_bucket{instance="c",le="1e0"} 8
    """

    func testSnapshotKeysAndValues() throws {
        let snap = try snapshot(before)
        XCTAssertEqual(snap.requests, [
            #"http_requests_total{code="200",method="get"}"#: 100,
            #"http_requests_total{code="500",method="get"}"#: 5,
            #"http_requests_total{code="404",method="get"}"#: 7,
        ])
        XCTAssertEqual(snap.errors, [#"http_requests_total{code="500",method="get"}"#: 5])
        XCTAssertEqual(snap.buckets.count, 6)
        XCTAssertEqual(snap.buckets[#"request_latency_seconds_bucket{instance="b",le="+Inf"}"#],
                       Bucket(upperBound: .infinity, value: 300))
        XCTAssertEqual(snap.buckets[#"request_latency_seconds_bucket{instance="a",le="0.5"}"#],
                       Bucket(upperBound: 0.5, value: 20))
        XCTAssertEqual(snap.missing, [])
    }

    func testIncreaseWithResetsNewAndVanishedSeries() throws {
        let increase = Increase(from: try snapshot(before), to: try snapshot(after))
        // 200: 150 − 100 = 50; 500 went from 5 to 2, a reset: 2; 503 is new: 4; 404 vanished: 0.
        XCTAssertEqual(increase.requests, 56)
        // Errors are the 5xx series of the same counter: 2 + 4.
        XCTAssertEqual(increase.errors, 6)
        // By le: instance a grew (5, 10, 10), b was reset (1, 2, 3), c is new (8 at le=1).
        XCTAssertEqual(increase.buckets, [
            BucketCount(upperBound: 0.1, count: 6),
            BucketCount(upperBound: 0.5, count: 12),
            BucketCount(upperBound: 1, count: 8),
            BucketCount(upperBound: .infinity, count: 13),
        ])
        // The code=500 series (a request and an error series) and b's three buckets.
        XCTAssertEqual(increase.resets, 4)
    }

    func testFirstScrapeCountsEverything() throws {
        let increase = Increase(from: Snapshot(), to: try snapshot(before))
        XCTAssertEqual(increase.requests, 112)
        XCTAssertEqual(increase.errors, 5)
        XCTAssertEqual(increase.resets, 0)
        XCTAssertEqual(increase.buckets.map(\.count), [110, 220, 330])
        XCTAssertEqual(Increase(from: try snapshot(before), to: try snapshot(before)),
                       Increase(requests: 0, errors: 0, buckets: [
                           BucketCount(upperBound: 0.1, count: 0), BucketCount(upperBound: 0.5, count: 0),
                           BucketCount(upperBound: .infinity, count: 0),
                       ], resets: 0))
    }

    func testFailureCounterWinsOverMatchers() throws {
        let withFailures = SeriesSelection(
            histogram: "request_latency_seconds", requestsCounter: "http_requests_total",
            failureCounter: "http_failures",
            errorMatchers: [try LabelMatcher(name: "code", op: .equal, value: "200")])
        let page1 = """
        http_requests_total{code="200"} 10
        http_failures_total{reason="timeout"} 1
        http_failures_total{reason="refused"} 2
        """
        let page2 = """
        http_requests_total{code="200"} 25
        http_failures_total{reason="timeout"} 4
        http_failures_total{reason="refused"} 2
        """
        let first = try snapshot(page1, withFailures)
        XCTAssertEqual(first.errors, [#"http_failures_total{reason="timeout"}"#: 1, #"http_failures_total{reason="refused"}"#: 2])
        XCTAssertEqual(first.missing, ["request_latency_seconds"])
        let increase = Increase(from: first, to: try snapshot(page2, withFailures))
        XCTAssertEqual(increase.requests, 15)
        XCTAssertEqual(increase.errors, 3)
        XCTAssertEqual(increase.buckets, [])
    }

    func testTotalSuffixMatching() throws {
        let page = """
        jobs 1
        jobs_total 2
        jobs_total_total 4
        jobs_created 8
        """
        func requests(_ name: String) throws -> Double {
            let snap = try snapshot(page, SeriesSelection(histogram: "h", requestsCounter: name))
            return snap.requests.values.reduce(0, +)
        }
        XCTAssertEqual(try requests("jobs"), 3)          // jobs and jobs_total
        XCTAssertEqual(try requests("jobs_total"), 2)    // exactly jobs_total
        XCTAssertEqual(try requests("job"), 0)
        XCTAssertEqual(try snapshot(page, SeriesSelection(histogram: "h", requestsCounter: "jobs",
                                                          failureCounter: "jobs_total")).errors.values.reduce(0, +), 2)
    }

    func testMissingNames() throws {
        let selection = SeriesSelection(histogram: "latency", requestsCounter: "requests", failureCounter: "failures")
        XCTAssertEqual(try snapshot("other 1\n", selection).missing, ["latency", "requests", "failures"])
        XCTAssertEqual(try snapshot("", selection).missing, ["latency", "requests", "failures"])
        XCTAssertEqual(try snapshot(#"latency_bucket{le="+Inf"} 1"# + "\nrequests_total 1\n", selection).missing, ["failures"])
        XCTAssertEqual(try snapshot("x 1\n", SeriesSelection(histogram: "latency", requestsCounter: "requests")).missing,
                       ["latency", "requests"])
    }

    func testUnusableBucketsAreSkipped() throws {
        let snap = try snapshot("""
        request_latency_seconds_bucket{le="0.25"} 1
        request_latency_seconds_bucket{le="fast"} 2
        request_latency_seconds_bucket{le="NaN"} 3
        request_latency_seconds_bucket 4
        request_latency_seconds_bucket{le=".5"} 5
        """)
        XCTAssertEqual(snap.buckets.values.map(\.upperBound).sorted(), [0.25, 0.5])
        XCTAssertFalse(snap.missing.contains("request_latency_seconds"))
    }

    func testAddAccumulatesIntervals() {
        var minute = Increase.zero
        minute.add(Increase(requests: 10, errors: 1, buckets: [
            BucketCount(upperBound: 0.1, count: 4), BucketCount(upperBound: .infinity, count: 10),
        ], resets: 0))
        minute.add(Increase(requests: 5, errors: 2, buckets: [
            BucketCount(upperBound: 0.5, count: 3), BucketCount(upperBound: 0.1, count: 1),
            BucketCount(upperBound: .infinity, count: 5),
        ], resets: 1))
        XCTAssertEqual(minute, Increase(requests: 15, errors: 3, buckets: [
            BucketCount(upperBound: 0.1, count: 5), BucketCount(upperBound: 0.5, count: 3),
            BucketCount(upperBound: .infinity, count: 15),
        ], resets: 1))
        XCTAssertEqual(Increase.zero, Increase(requests: 0, errors: 0, buckets: [], resets: 0))
    }

    func testSnapshotRoundTripsThroughDefaultJSONEncoder() throws {
        let snap = try snapshot(before)
        let data = try JSONEncoder().encode(snap)
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains(#""upperBound":"+Inf""#))
        XCTAssertEqual(try JSONDecoder().decode(Snapshot.self, from: data), snap)
        let selectionData = try JSONEncoder().encode(selection)
        XCTAssertEqual(try JSONDecoder().decode(SeriesSelection.self, from: selectionData), selection)
    }

    /// From scrape to p50: the docs' histogram, first scrape, quantile by hand from
    /// Prometheus's algorithm: rank 72,160 falls in (0.1, 0.2] with 33,444 below and 66,948
    /// inside, so 0.1 + 0.1 × 38,716 / 66,948.
    func testEndToEndQuantile() throws {
        let page = try parsed(ExpositionTests.docsExample)
        let selection = SeriesSelection(histogram: "http_request_duration_seconds", requestsCounter: "http_requests_total",
                                        errorMatchers: try LabelMatcher.parseList(#"code=~"4..|5..""#))
        let increase = Increase(from: Snapshot(), to: Snapshot(page, selecting: selection))
        XCTAssertEqual(increase.requests, 1030)
        XCTAssertEqual(increase.errors, 3)
        XCTAssertEqual(increase.quantile(0.5), 0.1 + 0.1 * 38716 / 66948, accuracy: 1e-15)
        XCTAssertEqual(increase.quantile(0.5), 0.15782995757901658, accuracy: 1e-15)
        XCTAssertEqual(increase.quantile(0.99), 1)   // rank 142,876.8 > 133,988: the +Inf bucket
    }
}
