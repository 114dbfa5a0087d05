import Foundation
import PrometheusText

/// `exposition FILE...`: parses each metrics page (as the scraper does, then selects the
/// prometheus_client preset's series) and prints the median time and throughput, one line per
/// file: `exposition <file> <bytes> <series> <median ms> <MB/s> <parse-only median ms>` for
/// bench/scrape.sh to compare.
func expositionBenchmark(_ arguments: ArraySlice<String>) throws {
    guard !arguments.isEmpty else { throw BenchFailure("usage: exposition FILE... (metrics pages; bench/scrape.sh makes them)") }
    let selection = SeriesSelection(histogram: "request_latency_seconds", requestsCounter: "requests_total",
                                    errorMatchers: try LabelMatcher.parseList(#"status=~"5..""#))
    for path in arguments {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        var series = 0
        let iterations = bytes.count > 4 << 20 ? 10 : 50
        let samples = try measure(warmUp: 2, iterations: iterations) {
            let page = try Exposition.parse(bytes, format: .text)
            series = page.samples.count
            _ = Snapshot(page, selecting: selection)
        }
        let parseOnly = try measure(warmUp: 2, iterations: iterations) { _ = try Exposition.parse(bytes, format: .text) }
        let median = percentile(samples, 0.5) / 1e6
        print(String(format: "exposition %@ %d %d %.3f %.1f %.3f", path, bytes.count, series, median, Double(bytes.count) / 1e6 / (median / 1000),
                     percentile(parseOnly, 0.5) / 1e6))
    }
}
