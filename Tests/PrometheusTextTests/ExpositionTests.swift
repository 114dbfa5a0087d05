import Foundation
import XCTest
import PrometheusText

/// Parses `text` as a page, failing the test (with the parser's message) when it is rejected.
func parsed(_ text: String, _ format: ExpositionFormat = .text, limits: ExpositionLimits = .standard,
            file: StaticString = #filePath, line: UInt = #line) throws -> Exposition {
    do {
        return try Exposition.parse(Array(text.utf8), format: format, limits: limits)
    } catch {
        XCTFail("unexpected error: \(error)", file: file, line: line)
        throw error
    }
}

/// The error a page is rejected with, or nil when it parses.
func rejection(_ bytes: [UInt8], _ format: ExpositionFormat = .text,
               limits: ExpositionLimits = .standard) -> ExpositionError? {
    do {
        _ = try Exposition.parse(bytes, format: format, limits: limits)
        return nil
    } catch {
        return error
    }
}

func rejection(_ text: String, _ format: ExpositionFormat = .text,
               limits: ExpositionLimits = .standard) -> ExpositionError? {
    rejection(Array(text.utf8), format, limits: limits)
}

func labels(_ pairs: KeyValuePairs<String, String>) -> [Label] {
    pairs.map { Label(name: $0.key, value: $0.value) }
}

final class ExpositionTests: XCTestCase {
    /// The example page of the Prometheus docs ("Exposition formats", text format 0.0.4).
    static let docsExample = #"""
    # HELP http_requests_total The total number of HTTP requests.
    # TYPE http_requests_total counter
    http_requests_total{method="post",code="200"} 1027 1395066363000
    http_requests_total{method="post",code="400"}    3 1395066363000

    # Escaping in label values:
    msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9

    # Minimalistic line:
    metric_without_timestamp_and_labels 12.47

    # A weird metric from before the epoch:
    something_weird{problem="division by zero"} +Inf -3982045

    # A histogram, which has a pretty complex representation in the text format:
    # HELP http_request_duration_seconds A histogram of the request duration.
    # TYPE http_request_duration_seconds histogram
    http_request_duration_seconds_bucket{le="0.05"} 24054
    http_request_duration_seconds_bucket{le="0.1"} 33444
    http_request_duration_seconds_bucket{le="0.2"} 100392
    http_request_duration_seconds_bucket{le="0.5"} 129389
    http_request_duration_seconds_bucket{le="1"} 133988
    http_request_duration_seconds_bucket{le="+Inf"} 144320
    http_request_duration_seconds_sum 53423
    http_request_duration_seconds_count 144320

    # Finally a summary, which has a complex representation, too:
    # HELP telemetry_requests_metrics_latency_microseconds A summary of the response latency.
    # TYPE telemetry_requests_metrics_latency_microseconds summary
    telemetry_requests_metrics_latency_microseconds{quantile="0.01"} 3102
    telemetry_requests_metrics_latency_microseconds{quantile="0.05"} 3272
    telemetry_requests_metrics_latency_microseconds{quantile="0.5"} 4773
    telemetry_requests_metrics_latency_microseconds{quantile="0.9"} 9001
    telemetry_requests_metrics_latency_microseconds{quantile="0.99"} 76656
    telemetry_requests_metrics_latency_microseconds_sum 1.7560473e+07
    telemetry_requests_metrics_latency_microseconds_count 2693

    """#

    func testDocsExamplePage() throws {
        let page = try parsed(Self.docsExample)
        XCTAssertEqual(page.samples.count, 20)
        XCTAssertEqual(Array(page.samples.prefix(5)), [
            Sample(name: "http_requests_total", labels: labels(["code": "200", "method": "post"]),
                   value: 1027, timestampMilliseconds: 1_395_066_363_000),
            Sample(name: "http_requests_total", labels: labels(["code": "400", "method": "post"]),
                   value: 3, timestampMilliseconds: 1_395_066_363_000),
            Sample(name: "msdos_file_access_time_seconds",
                   labels: labels(["error": "Cannot find file:\n\"FILE.TXT\"", "path": #"C:\DIR\FILE.TXT"#]),
                   value: 1_458_255_915),
            Sample(name: "metric_without_timestamp_and_labels", value: 12.47),
            Sample(name: "something_weird", labels: labels(["problem": "division by zero"]),
                   value: .infinity, timestampMilliseconds: -3_982_045),
        ])
        // Labels come out sorted by name, whatever the order on the line.
        XCTAssertEqual(page.samples[0].labels.map(\.name), ["code", "method"])

        let buckets = page.samples[5..<11]
        XCTAssertEqual(buckets.map(\.name), Array(repeating: "http_request_duration_seconds_bucket", count: 6))
        XCTAssertEqual(buckets.map { $0.label("le") }, ["0.05", "0.1", "0.2", "0.5", "1", "+Inf"])
        XCTAssertEqual(buckets.map(\.value), [24054, 33444, 100_392, 129_389, 133_988, 144_320])
        XCTAssertEqual(page.samples[11], Sample(name: "http_request_duration_seconds_sum", value: 53423))
        XCTAssertEqual(page.samples[12], Sample(name: "http_request_duration_seconds_count", value: 144_320))

        let summary = page.samples[13..<18]
        XCTAssertEqual(summary.map { $0.label("quantile") }, ["0.01", "0.05", "0.5", "0.9", "0.99"])
        XCTAssertEqual(summary.map(\.value), [3102, 3272, 4773, 9001, 76656])
        XCTAssertEqual(page.samples[18],
                       Sample(name: "telemetry_requests_metrics_latency_microseconds_sum", value: 17_560_473))
        XCTAssertEqual(page.samples[19],
                       Sample(name: "telemetry_requests_metrics_latency_microseconds_count", value: 2693))
        XCTAssertTrue(page.samples.allSatisfy { $0.timestampMilliseconds == nil || $0.name == "http_requests_total" || $0.name == "something_weird" })

        XCTAssertEqual(page.types, [
            "http_requests_total": .counter,
            "http_request_duration_seconds": .histogram,
            "telemetry_requests_metrics_latency_microseconds": .summary,
        ])
        XCTAssertEqual(page.help["http_requests_total"], "The total number of HTTP requests.")
        XCTAssertEqual(page.help["telemetry_requests_metrics_latency_microseconds"], "A summary of the response latency.")
        XCTAssertEqual(page.help.count, 3)
    }

    /// The complete exposition example of the OpenMetrics 1.0 spec, plus its exemplar example.
    func testOpenMetricsSpecExamples() throws {
        let page = try parsed("""
        # TYPE acme_http_router_request_seconds summary
        # UNIT acme_http_router_request_seconds seconds
        # HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
        acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
        acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
        acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
        acme_http_router_request_seconds_sum{path="/api/v2",method="POST"} 479.3
        acme_http_router_request_seconds_count{path="/api/v2",method="POST"} 34.0
        acme_http_router_request_seconds_created{path="/api/v2",method="POST"} 1605281325.0
        # TYPE go_goroutines gauge
        # HELP go_goroutines Number of goroutines that currently exist.
        go_goroutines 69
        # TYPE process_cpu_seconds counter
        # UNIT process_cpu_seconds seconds
        # HELP process_cpu_seconds Total user and system CPU time spent in seconds.
        process_cpu_seconds_total 4.20072246e+06
        # EOF

        """, .openMetrics)
        let v1 = labels(["method": "GET", "path": "/api/v1"])
        let v2 = labels(["method": "POST", "path": "/api/v2"])
        XCTAssertEqual(page.samples, [
            Sample(name: "acme_http_router_request_seconds_sum", labels: v1, value: 9036.32),
            Sample(name: "acme_http_router_request_seconds_count", labels: v1, value: 807_283),
            Sample(name: "acme_http_router_request_seconds_created", labels: v1, value: 1_605_281_325),
            Sample(name: "acme_http_router_request_seconds_sum", labels: v2, value: 479.3),
            Sample(name: "acme_http_router_request_seconds_count", labels: v2, value: 34),
            Sample(name: "acme_http_router_request_seconds_created", labels: v2, value: 1_605_281_325),
            Sample(name: "go_goroutines", value: 69),
            Sample(name: "process_cpu_seconds_total", value: 4_200_722.46),
        ])
        XCTAssertEqual(page.types, [
            "acme_http_router_request_seconds": .summary, "go_goroutines": .gauge, "process_cpu_seconds": .counter,
        ])
        XCTAssertEqual(page.units, ["acme_http_router_request_seconds": "seconds", "process_cpu_seconds": "seconds"])
        XCTAssertEqual(page.help["acme_http_router_request_seconds"], "Latency though all of ACME's HTTP request router.")

        let exemplars = try parsed("""
        # TYPE foo histogram
        foo_bucket{le="0.01"} 0
        foo_bucket{le="0.1"} 8 # {} 0.054
        foo_bucket{le="1"} 11 # {trace_id="KOO5S4vxi0o"} 0.67
        foo_bucket{le="10"} 17 # {trace_id="oHg5SJYRHA0"} 9.8 1520879607.789
        foo_bucket{le="+Inf"} 17
        foo_count 17
        foo_sum 324789.3
        foo_created  1520430000.123
        # EOF
        """, .openMetrics)
        XCTAssertEqual(exemplars.samples.map(\.name), [
            "foo_bucket", "foo_bucket", "foo_bucket", "foo_bucket", "foo_bucket", "foo_count", "foo_sum", "foo_created",
        ])
        XCTAssertEqual(exemplars.samples.map(\.value), [0, 8, 11, 17, 17, 17, 324_789.3, 1_520_430_000.123])
        XCTAssertEqual(exemplars.samples.map { $0.label("le") }, ["0.01", "0.1", "1", "10", "+Inf", nil, nil, nil])
        // The exemplar's timestamp is not the sample's.
        XCTAssertTrue(exemplars.samples.allSatisfy { $0.timestampMilliseconds == nil })
        XCTAssertEqual(exemplars.types, ["foo": .histogram])
    }

    func testOpenMetricsTimestampsAreSecondsStoredAsMilliseconds() throws {
        let page = try parsed("""
        # TYPE foo counter
        foo_total 17.0 1520879607.789
        foo_created 1520430000.123 1520879607.789
        # TYPE bar gauge
        bar 1 -1.5
        bar{a="b"} 2 1520879607
        # EOF
        """, .openMetrics)
        XCTAssertEqual(page.samples.map(\.timestampMilliseconds), [1_520_879_607_789, 1_520_879_607_789, -1500, 1_520_879_607_000])
        XCTAssertEqual(page.samples[1].value, 1_520_430_000.123)
    }

    func testOpenMetricsPointsOfOneSeriesNeedIncreasingTimestamps() throws {
        // From the spec: several MetricPoints of one Metric, in timestamp order.
        let page = try parsed("""
        # TYPE foo_seconds summary
        # UNIT foo_seconds seconds
        foo_seconds_count{a="bb"} 0 123
        foo_seconds_sum{a="bb"} 0 123
        foo_seconds_count{a="bb"} 0 456
        foo_seconds_sum{a="bb"} 0 456
        # EOF
        """, .openMetrics)
        XCTAssertEqual(page.samples.count, 4)
        XCTAssertEqual(rejection("""
        foo{a="bb"} 0 456
        foo{a="bb"} 1 123
        # EOF
        """, .openMetrics), ExpositionError(line: 2, message: #"duplicate series foo{a="bb"} (first on line 1)"#))
        XCTAssertEqual(rejection("foo 0 1\nfoo 1\n# EOF\n", .openMetrics)?.message, "duplicate series foo (first on line 1)")
        // The text format has no such thing.
        XCTAssertEqual(rejection("foo 0 123\nfoo 0 456\n")?.message, "duplicate series foo (first on line 1)")
    }

    func testOpenMetricsStringsAndMetadata() throws {
        let page = try parsed(#"""
        # TYPE foo_seconds counter
        # UNIT foo_seconds seconds
        # HELP foo_seconds Some text and \n some \" escaping
        foo_seconds_total{a="x",b="escaping\" example \n ",c="back\\slash",d="kept \a as is"} 0
        # TYPE e stateset
        e{e="a\u{0}b"} 1
        # TYPE i info
        i_info{version="1.0"} 1
        # TYPE gh gaugehistogram
        gh_bucket{le="+Inf"} 3
        # TYPE u unknown
        u 42.23
        # EOF
        """#.replacingOccurrences(of: "\\u{0}", with: "\u{0}"), .openMetrics)
        XCTAssertEqual(page.help["foo_seconds"], "Some text and \n some \" escaping")
        XCTAssertEqual(page.samples[0].labels, labels([
            "a": "x", "b": "escaping\" example \n ", "c": #"back\slash"#, "d": #"kept \a as is"#,
        ]))
        // NUL "MUST be supported" in OpenMetrics strings.
        XCTAssertEqual(page.samples[1].labels, labels(["e": "a\u{0}b"]))
        XCTAssertEqual(page.types, ["foo_seconds": .counter, "e": .stateset, "i": .info, "gh": .gaugehistogram, "u": .unknown])
    }

    func testTextFormatLeniencies() throws {
        let page = try parsed(
            "# a plain comment\n" +
            "#\n" +
            "   \t \n" +
            "  spaced {  a = \"1\" ,\tb=\"2\", }\t 3   \r\n" +
            "empty_braces{} 4\r\n" +
            "tabs\t5\t-7\n" +
            "# HELP h back\\\\slash and\\nnewline \\t kept  \n" +
            "# TYPE Lower COUNTER\n" +
            "colons:are:fine_1 6\n" +
            "no_newline_at_end 7"
        )
        XCTAssertEqual(page.samples, [
            Sample(name: "spaced", labels: labels(["a": "1", "b": "2"]), value: 3),
            Sample(name: "empty_braces", value: 4),
            Sample(name: "tabs", value: 5, timestampMilliseconds: -7),
            Sample(name: "colons:are:fine_1", value: 6),
            Sample(name: "no_newline_at_end", value: 7),
        ])
        XCTAssertEqual(page.help["h"], "back\\slash and\nnewline \\t kept")
        XCTAssertEqual(page.types["Lower"], .counter)
    }

    func testValueSyntax() throws {
        let cases: [(String, Double)] = [
            ("1", 1), ("-3.5", -3.5), ("1e-3", 0.001), ("2.5E+10", 2.5e10), (".5", 0.5), ("5.", 5),
            ("0042", 42), ("+7", 7), ("-0", 0), ("1.458255915e9", 1_458_255_915), ("0.1", 0.1),
            ("123456789012345678901234567890", 1.2345678901234568e29), ("4.9e-324", .leastNonzeroMagnitude),
            ("1.7976931348623157e308", .greatestFiniteMagnitude), ("3.141592653589793238", .pi),
            ("+Inf", .infinity), ("-Inf", -.infinity), ("Inf", .infinity), ("inf", .infinity),
            ("+infinity", .infinity), ("-INF", -.infinity),
        ]
        for (text, expected) in cases {
            let page = try parsed("v \(text)\n")
            XCTAssertEqual(page.samples.first?.value, expected, text)
        }
        for text in ["NaN", "nan", "NAN"] {
            XCTAssertEqual(try parsed("v \(text)\n").samples.first?.value.isNaN, true, text)
        }
        XCTAssertEqual(try parsed("v -0\n").samples.first?.value.sign, .minus)
        for text in ["12abc", "1e", "e5", ".", "-", "+", "1.2.3", "0x10", "1_000", "+NaN", "infinit", "Infinityy", "--1", "1e+", "٣"] {
            XCTAssertEqual(rejection("v \(text)\n")?.message,
                           "invalid value \"\(text)\" (expected a number, +Inf, -Inf or NaN)", text)
        }
        XCTAssertEqual(rejection("v 1e400\n")?.message, "value \"1e400\" is out of range for a float64")
    }

    func testTimestampSyntax() throws {
        XCTAssertEqual(try parsed("t 1 9223372036854775807\n").samples[0].timestampMilliseconds, .max)
        XCTAssertEqual(try parsed("t 1 -9223372036854775808\n").samples[0].timestampMilliseconds, .min)
        XCTAssertEqual(try parsed("t 1 +5\n").samples[0].timestampMilliseconds, 5)
        XCTAssertEqual(rejection("t 1 9223372036854775808\n")?.message,
                       #"invalid timestamp "9223372036854775808" (expected integer milliseconds)"#)
        XCTAssertEqual(rejection("t 1 1.5\n")?.message, #"invalid timestamp "1.5" (expected integer milliseconds)"#)
        XCTAssertEqual(rejection("t 1 2 3\n")?.message, #"unexpected text after the timestamp: "3""#)
        XCTAssertEqual(rejection("t 1 NaN\n# EOF\n", .openMetrics)?.message,
                       #"invalid timestamp "NaN" (expected seconds since the epoch)"#)
        XCTAssertEqual(rejection("t 1 1e300\n# EOF\n", .openMetrics)?.message, #"timestamp "1e300" is out of range"#)
    }

    func testMetadataErrors() {
        XCTAssertEqual(rejection("# TYPE foo counter\nfoo 1\n# TYPE foo gauge\n"),
                       ExpositionError(line: 3, message: "second TYPE line for foo (first on line 1)"))
        XCTAssertEqual(rejection("# TYPE foo timer\n"), ExpositionError(
            line: 1, message: #"unknown metric type "timer" (expected counter, gauge, histogram, summary or untyped)"#))
        XCTAssertEqual(rejection("# TYPE foo gaugehistogram\n")?.message,
                       #"unknown metric type "gaugehistogram" (expected counter, gauge, histogram, summary or untyped)"#)
        XCTAssertEqual(rejection("# TYPE foo untyped\n# EOF\n", .openMetrics)?.message,
                       #"unknown metric type "untyped" (expected counter, gauge, histogram, gaugehistogram, stateset, info, summary or unknown)"#)
        XCTAssertEqual(rejection("# TYPE foo\n")?.message, "expected a metric type after # TYPE foo")
        XCTAssertEqual(rejection("# TYPE foo counter extra\n")?.message, "unexpected text after # TYPE foo counter")
        XCTAssertEqual(rejection("# TYPE\n")?.message, "expected a metric name after # TYPE")
        XCTAssertEqual(rejection("# HELP 9lives text\n")?.message, #"invalid metric name "9lives" after # HELP"#)
        XCTAssertEqual(rejection("# HELP a one\n# HELP a two\n"),
                       ExpositionError(line: 2, message: "second HELP line for a (first on line 1)"))
        XCTAssertEqual(rejection("# TYPE foo counter\n# UNIT foo seconds\n# EOF\n", .openMetrics),
                       ExpositionError(line: 2, message: #"unit "seconds" is not a suffix of foo (OpenMetrics wants <name>_seconds)"#))
        XCTAssertEqual(rejection("# just talking\n# EOF\n", .openMetrics)?.message,
                       "unexpected comment (OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF)")
        // In the text format those are plain comments.
        XCTAssertNil(rejection("# just talking\n# UNIT foo seconds\n# EOF\n"))
    }

    func testContentTypeSelectsTheFormat() {
        XCTAssertEqual(ExpositionFormat(contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8"), .openMetrics)
        XCTAssertEqual(ExpositionFormat(contentType: " Application/OpenMetrics-Text"), .openMetrics)
        XCTAssertEqual(ExpositionFormat(contentType: "text/plain; version=0.0.4; charset=utf-8"), .text)
        XCTAssertEqual(ExpositionFormat(contentType: "application/json"), .text)
        XCTAssertEqual(ExpositionFormat(contentType: nil), .text)
    }

    func testErrorDescriptionAndSeriesKey() throws {
        XCTAssertEqual(ExpositionError(line: 12, message: "boom").description, "line 12: boom")
        let sample = try parsed(#"m{b="2",a="x\"y\\z\n"} 1"#).samples[0]
        XCTAssertEqual(sample.seriesKey, #"m{a="x\"y\\z\n",b="2"}"#)
        XCTAssertEqual(Sample(name: "plain", value: 1).seriesKey, "plain")
    }

    /// About 10 MiB and 100,000 series: checks the result; the time is printed, not asserted.
    func testTenMebibytePage() throws {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(11 << 20)
        bytes.append(contentsOf: "# HELP api_request_duration_seconds Request latency.\n# TYPE api_request_duration_seconds histogram\n".utf8)
        let bounds = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]
        for i in 0..<100_000 {
            let line = "api_request_duration_seconds_bucket{service=\"checkout-\(i / 1000)\",instance=\"10.0.\(i / 10 % 100).\(i % 7):9090\",le=\"\(bounds[i % 10])\"} \(i) 1700000000000\n"
            bytes.append(contentsOf: line.utf8)
        }
        let start = Date()
        let page = try Exposition.parse(bytes, format: .text, limits: ExpositionLimits(maxSeries: 100_000))
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "parsed %.1f MiB, %d series in %.3f s", Double(bytes.count) / 1_048_576, page.samples.count, seconds))
        XCTAssertGreaterThan(bytes.count, 10 << 20)
        XCTAssertEqual(page.samples.count, 100_000)
        XCTAssertEqual(page.samples[99_999], Sample(
            name: "api_request_duration_seconds_bucket",
            labels: labels(["instance": "10.0.99.4:9090", "le": "+Inf", "service": "checkout-99"]),
            value: 99_999, timestampMilliseconds: 1_700_000_000_000))
        XCTAssertEqual(page.samples.map(\.value).reduce(0, +), 4_999_950_000)
        XCTAssertEqual(page.types, ["api_request_duration_seconds": .histogram])
    }
}
