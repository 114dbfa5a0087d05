import Testing
@testable import Trainyard

@Suite struct LineChartTests {
    func chart(_ points: [(Double, Double)], yRange: ClosedRange<Double>? = nil) -> String {
        LineChart(title: "Loss & <friends>", xLabel: "Step", yLabel: "Loss",
                  series: [.init(label: "Loss", cssClass: "series-loss", points: points.map { (x: $0.0, y: $0.1) })],
                  yRange: yRange).svg(id: "c")
    }

    @Test func anEmptySeriesSaysThereIsNoData() {
        let svg = chart([])
        #expect(svg.contains("No data yet"))
        #expect(!svg.contains("<polyline"))
        #expect(svg.contains("<title id=\"c-title\">Loss &amp; &lt;friends&gt;</title>"))
    }

    @Test func aSinglePointDrawsWithFiniteCoordinates() {
        let svg = chart([(5, 0.7)])
        #expect(svg.contains("<polyline"))
        #expect(!svg.contains("nan") && !svg.contains("inf"))
        #expect(svg.contains("1 points. Latest: Loss 0.7."))
    }

    @Test func aFlatSeriesStillGetsAnAxis() {
        let svg = chart([(1, 2), (2, 2), (3, 2)])
        #expect(!svg.contains("nan"))
        #expect(svg.components(separatedBy: "text-anchor=\"end\"").count > 2)
    }

    @Test func valuesOutsideAFixedRangeAreClampedToThePlot() {
        let svg = chart([(0, -1), (1, 0.5), (2, 3)], yRange: 0...1)
        // Plot area: top 14, bottom 240 − 42 = 198.
        let points = svg.components(separatedBy: "points=\"")[1].components(separatedBy: "\"")[0]
        let ys = points.split(separator: " ").map { Double($0.split(separator: ",")[1])! }
        #expect(ys.allSatisfy { $0 >= 14 && $0 <= 198 })
    }

    /// Coordinates are written with one decimal, half away from zero, as the string arithmetic
    /// below gives them: no "-0", no trailing ".0".
    @Test func coordinatesHaveOneDecimalRoundedHalfAwayFromZero() {
        func reference(_ v: Double) -> String {
            let scaled = (v * 10).rounded()
            let whole = Int(scaled) / 10, frac = abs(Int(scaled) % 10)
            if frac == 0 { return String(Int(scaled) / 10) }
            return (scaled < 0 && whole == 0 ? "-" : "") + String(whole) + "." + String(frac)
        }
        func written(_ v: Double) -> String {
            var bytes: [UInt8] = []
            LineChart.appendTenths(v, to: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        }
        var values: [Double] = [0, 0.04, 0.05, -0.04, -0.05, -0.3, 1, 9.95, 10, 56, 56.25, 197.99, 640, -12.34, 123456.78, -1000.05]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 { values.append(Double.random(in: -2000...2000, using: &generator)) }
        for v in values { #expect(written(v) == reference(v), "\(v)") }
        #expect(written(56.25) == "56.3" && written(-0.3) == "-0.3" && written(640) == "640" && written(-0.04) == "0")
    }

    @Test func niceTicksAreRound() {
        #expect(LineChart.niceTicks(0...1, count: 5) == [0, 0.25, 0.5, 0.75, 1])
        #expect(LineChart.niceTicks(0...1000, count: 6) == [0, 200, 400, 600, 800, 1000])
        #expect(LineChart.niceTicks(3...3, count: 5) == [3])
    }

    @Test func downsamplingKeepsSpikesAndDips() {
        // Two buckets; the second holds a spike up to 9 and a dip to 0.1.
        let buckets = [
            MetricBucket(firstX: 1, lastX: 10, low: 2.0, high: 2.5),
            MetricBucket(firstX: 11, lastX: 20, low: 0.1, high: 9.0),
        ]
        let series = MetricChartCache.points(buckets, xScale: 1)
        #expect(series.count == 4)
        #expect(series.map(\.y).max() == 9.0)
        #expect(series.map(\.y).min() == 0.1)
        #expect(series.map(\.x) == [1, 10, 11, 20])
        #expect(MetricChartCache.points([], xScale: 1).isEmpty)
        // A single value is one point, not two on top of each other.
        #expect(MetricChartCache.points([MetricBucket(firstX: 5, lastX: 5, low: 1, high: 1)], xScale: 1).count == 1)
    }
}
