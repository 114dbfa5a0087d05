import Foundation
import XCTest
import PrometheusText

final class HistogramQuantileTests: XCTestCase {
    private func q(_ q: Double, _ buckets: [(upperBound: Double, count: Double)]) -> Double {
        HistogramQuantile.estimate(q, buckets: buckets)
    }

    /// Prometheus's promql/promqltest/testdata/histograms.test, `testhistogram_bucket` at 50m:
    /// {start="positive"} le 0.1: 50, 0.2: 70, 1: 110, +Inf: 120 and
    /// {start="negative"} le -0.2: 10, -0.1: 20, 0.3: 20, +Inf: 30, with the expected results
    /// from that file.
    func testPrometheusTestdataHistograms() {
        let positive: [(upperBound: Double, count: Double)] = [(0.1, 50), (0.2, 70), (1, 110), (.infinity, 120)]
        let negative: [(upperBound: Double, count: Double)] = [(-0.2, 10), (-0.1, 20), (0.3, 20), (.infinity, 30)]
        XCTAssertEqual(q(0, positive), 0)
        XCTAssertEqual(q(0.2, positive), 0.048, accuracy: 1e-15)   // 0 + 0.1 × 24/50
        XCTAssertEqual(q(0.5, positive), 0.15, accuracy: 1e-15)    // 0.1 + 0.1 × 10/20
        XCTAssertEqual(q(0.8, positive), 0.72, accuracy: 1e-15)    // 0.2 + 0.8 × 26/40
        XCTAssertEqual(q(1, positive), 1)                          // rank 120 only in +Inf
        XCTAssertEqual(q(0, negative), -0.2)                       // lowest bound ≤ 0 is returned
        XCTAssertEqual(q(0.2, negative), -0.2)
        XCTAssertEqual(q(0.5, negative), -0.15, accuracy: 1e-15)
        XCTAssertEqual(q(0.8, negative), 0.3)
        XCTAssertEqual(q(1, negative), 0.3)
    }

    func testInterpolationByHand() {
        // 100 observations: 20 ≤ 0.1, 60 ≤ 0.5, 90 ≤ 1.
        let buckets: [(upperBound: Double, count: Double)] = [(0.1, 20), (0.5, 60), (1, 90), (.infinity, 100)]
        XCTAssertEqual(q(0.1, buckets), 0.05, accuracy: 1e-15)          // 0 + 0.1 × 10/20
        XCTAssertEqual(q(0.3, buckets), 0.2, accuracy: 1e-15)           // 0.1 + 0.4 × 10/40
        XCTAssertEqual(q(0.75, buckets), 0.75, accuracy: 1e-15)         // 0.5 + 0.5 × 15/30
        XCTAssertEqual(q(0.95, buckets), 1)                             // +Inf bucket → 1
        XCTAssertEqual(q(0.9, buckets), 1, accuracy: 1e-15)             // rank 90 = count of le=1
    }

    func testRankExactlyOnABucketBoundary() {
        let buckets: [(upperBound: Double, count: Double)] = [(1, 10), (2, 20), (.infinity, 20)]
        // rank 10: the first bucket already holds 10, so its upper bound (not the next bucket's start).
        XCTAssertEqual(q(0.5, buckets), 1)
        XCTAssertEqual(q(1, buckets), 2)
        // Equal counts: the first bucket reaching the rank wins.
        let flat: [(upperBound: Double, count: Double)] = [(1, 10), (2, 10), (3, 20), (.infinity, 20)]
        XCTAssertEqual(q(0.5, flat), 1)
        XCTAssertEqual(q(0.75, flat), 2.5)
    }

    func testNonMonotonicCountsAreForcedUp() {
        // 10, 8, 15 → 10, 10, 15. Without the fix q=0.8 would be 2 + 4/7 ≈ 2.571.
        let buckets: [(upperBound: Double, count: Double)] = [(1, 10), (2, 8), (3, 15), (.infinity, 15)]
        XCTAssertEqual(q(0.6, buckets), 0.9, accuracy: 1e-15)
        XCTAssertEqual(q(0.8, buckets), 2.4, accuracy: 1e-15)
        // Each count is compared with the largest so far: 10, 5, 7, 12 → 10, 10, 10, 12.
        let dips: [(upperBound: Double, count: Double)] = [(1, 10), (2, 5), (3, 7), (4, 12), (.infinity, 12)]
        XCTAssertEqual(q(0.9, dips), 3.4, accuracy: 1e-12)   // 3 + 1 × (10.8 − 10)/2
        // A +Inf count below the others is raised too, so the total is 10, not 4.
        XCTAssertEqual(q(0.5, [(1, 10), (.infinity, 4)]), 0.5)
    }

    /// Prometheus ignores relative differences below 1e-12 between neighbouring counts
    /// ("simple - non-monotonic middle" in promql/quantile_test.go).
    func testTinyDeltasAreIgnored() {
        let buckets: [(upperBound: Double, count: Double)] = [
            (10, 10), (15, 15), (20, 15.00000000001), (30, 15), (.infinity, 15),
        ]
        XCTAssertEqual(q(1, buckets), 15)   // without the tolerance: 20
        XCTAssertEqual(q(0.99, buckets), 14.85, accuracy: 1e-12)
        XCTAssertEqual(q(0.9, buckets), 13.5, accuracy: 1e-12)
        XCTAssertEqual(q(0.5, buckets), 7.5, accuracy: 1e-12)
    }

    /// "real example 2 - non-monotonic" from promql/quantile_test.go, with its expected values
    /// (asserted there with a relative epsilon of 1e-12).
    func testPrometheusUnitTestRealExample() {
        let counts: [Double] = [
            9.6, 9.688888889, 9.755555556, 9.844444444, 9.888888889, 9.888888889, 9.888888889,
            9.888888889, 9.888888889, 9.888888889, 9.888888889001, 9.888888889, 9.888888888999,
            9.888888889, 9.888888889,
        ]
        let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, .infinity]
        let buckets = zip(bounds, counts).map { (upperBound: $0, count: $1) }
        for (quantile, expected) in [(1.0, 0.1), (0.99, 0.03468750000281261), (0.9, 0.00463541666671875),
                                     (0.5, 0.0025752314815104174)] {
            XCTAssertEqual(q(quantile, buckets), expected, accuracy: expected * 1e-12, "q=\(quantile)")
        }
    }

    func testSpecialCases() {
        let ok: [(upperBound: Double, count: Double)] = [(1, 5), (.infinity, 10)]
        XCTAssertEqual(q(-0.1, ok), -.infinity)
        XCTAssertEqual(q(1.1, ok), .infinity)
        XCTAssertTrue(q(.nan, ok).isNaN)
        XCTAssertEqual(q(-1, []), -.infinity)                            // q is checked first
        XCTAssertTrue(q(0.5, []).isNaN)
        XCTAssertTrue(q(0.5, [(.infinity, 10)]).isNaN)                   // a single bucket
        XCTAssertTrue(q(0.5, [(.infinity, 10), (.infinity, 5)]).isNaN)   // merged into one
        XCTAssertTrue(q(0.5, [(1, 5), (2, 10)]).isNaN)                   // no +Inf bucket
        XCTAssertTrue(q(0.5, [(1, 0), (.infinity, 0)]).isNaN)            // total 0
        XCTAssertTrue(q(0, [(1, 0), (2, 10), (.infinity, 10)]).isNaN)    // 0 + 1 × 0/0, as in Prometheus
        XCTAssertEqual(q(0, ok), 0)
        XCTAssertEqual(q(1, ok), 1)
    }

    func testUnsortedDuplicateAndNaNBounds() {
        // Sorted by bound first; two le="1" series are added (5 + 5).
        let buckets: [(upperBound: Double, count: Double)] = [(.infinity, 20), (2, 20), (1, 5), (.nan, 99), (1, 5)]
        XCTAssertEqual(q(0.25, buckets), 0.5)   // rank 5 in (0, 1] holding 10
        XCTAssertEqual(q(0.75, buckets), 1.5)   // rank 15 in (1, 2]: 1 + 1 × 5/10
        XCTAssertEqual(HistogramQuantile.estimate(0.75, buckets: buckets.map { BucketCount(upperBound: $0.upperBound, count: $0.count) }), 1.5)
    }
}
