import Foundation
import XCTest
import PrometheusText

/// Pages a broken or malicious target could serve: each must give a clear error, never a crash
/// or a huge allocation.
final class HostileInputTests: XCTestCase {
    func testFiveMebibyteLine() {
        let huge = [UInt8](repeating: UInt8(ascii: "a"), count: 5 << 20)
        XCTAssertEqual(rejection(huge), ExpositionError(line: 1, message: "longer than 65536 bytes"))
        XCTAssertEqual(rejection(Array("ok 1\n# comment\n".utf8) + huge + Array(" 1\n".utf8)),
                       ExpositionError(line: 3, message: "longer than 65536 bytes"))
        // Inside a label value, too, and with a line feed far beyond the limit.
        let inValue = Array("m{a=\"".utf8) + huge + Array("\"} 1\nn 2\n".utf8)
        XCTAssertEqual(rejection(inValue)?.message, "longer than 65536 bytes")
    }

    func testLineLengthLimitIsExact() throws {
        let name = String(repeating: "a", count: 65_534)
        XCTAssertEqual(try parsed(name + " 1\n").samples.count, 1)             // 65,536 bytes
        XCTAssertEqual(try parsed(name + " 1").samples.count, 1)               // last line, no feed
        XCTAssertEqual(rejection(name + "  1\n"), ExpositionError(line: 1, message: "longer than 65536 bytes"))
        XCTAssertEqual(rejection(name + "  1"), ExpositionError(line: 1, message: "longer than 65536 bytes"))
        let small = ExpositionLimits(maxLineBytes: 8)
        XCTAssertEqual(rejection("abcdef 1\nabcdefg 1\n", limits: small), ExpositionError(line: 2, message: "longer than 8 bytes"))
    }

    func testMillionSeriesStopsAtTheLimit() {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20 << 20)
        for i in 0..<1_000_000 {
            bytes.append(contentsOf: "s{i=\"\(i)\"} 1\n".utf8)
        }
        // A broken last line: a parser that read all million series before counting them would
        // report this line instead of the limit.
        bytes.append(contentsOf: "broken{\n".utf8)
        XCTAssertEqual(rejection(bytes), ExpositionError(line: 10_001, message: "more than 10000 series"))
        XCTAssertEqual(rejection(bytes)?.description, "line 10001: more than 10000 series")
        // Metadata is bounded the same way.
        let types = (0..<20_000).map { "# TYPE f\($0) counter\n" }.joined()
        XCTAssertEqual(rejection(types), ExpositionError(line: 10_001, message: "more than 10000 TYPE lines"))
        let help = (0..<20_000).map { "# HELP f\($0) text\n" }.joined()
        XCTAssertEqual(rejection(help, .openMetrics), ExpositionError(line: 10_001, message: "more than 10000 HELP lines"))
        // Comments and blank lines count as lines, not series.
        XCTAssertEqual(rejection("# hello\n\na 1\nb 1\nc 1\n", limits: ExpositionLimits(maxSeries: 2)),
                       ExpositionError(line: 5, message: "more than 2 series"))
    }

    func testBadEscapes() {
        XCTAssertEqual(rejection(#"m{a="x\y"} 1"#), ExpositionError(line: 1, message: #"bad escape \y in label value"#))
        XCTAssertEqual(rejection("ok 1\n" + #"m{a="\t"} 1"#), ExpositionError(line: 2, message: #"bad escape \t in label value"#))
        XCTAssertEqual(rejection(#"m{a="\é"} 1"#)?.message, #"bad escape \é in label value"#)
        XCTAssertEqual(rejection(#"m{a="x\"#)?.message, #"unterminated label value for a (missing closing ")"#)
    }

    func testUnterminatedQuote() {
        XCTAssertEqual(rejection("ok 1\nm{a=\"x} 1\nn 2\n"),
                       ExpositionError(line: 2, message: #"unterminated label value for a (missing closing ")"#))
        XCTAssertEqual(rejection(#"m{a="x\"} 1"#)?.message, #"unterminated label value for a (missing closing ")"#)
    }

    func testDuplicateSeriesWithLabelsInAnotherOrder() {
        let page = """
        # TYPE http_requests_total counter
        http_requests_total{code="200",method="get"} 1
        http_requests_total{code="500",method="get"} 1
        http_requests_total{method="get",code="200"} 2
        """
        XCTAssertEqual(rejection(page), ExpositionError(
            line: 4, message: #"duplicate series http_requests_total{code="200",method="get"} (first on line 2)"#))
        XCTAssertEqual(rejection("\n\n\n" + #"http_requests_total{code="200"} 1"# + "\nx 1\ny 1\nz 1\nw 1\n" + #"http_requests_total{code="200",} 2"#)?.description,
                       #"line 9: duplicate series http_requests_total{code="200"} (first on line 4)"#)
        XCTAssertEqual(rejection("m 1\nm{} 2\n")?.message, "duplicate series m (first on line 1)")
        XCTAssertEqual(rejection(#"m{a="1",b="2",a="3"} 1"#)?.message, #"duplicate label name "a" in m"#)
    }

    func testInvalidUTF8() {
        let inValue = Array(#"m{a=""#.utf8) + [0xFF] + Array(#""} 1"#.utf8)
        XCTAssertEqual(rejection(inValue), ExpositionError(line: 1, message: "not UTF-8 (byte 0xFF at column 6)"))
        XCTAssertEqual(rejection(inValue, .openMetrics)?.message, "not UTF-8 (byte 0xFF at column 6)")
        let inName = Array("ok 1\nfo".utf8) + [0xC3, 0x28] + Array("o 1\n".utf8)
        XCTAssertEqual(rejection(inName), ExpositionError(line: 2, message: "not UTF-8 (byte 0xC3 at column 3)"))
        // Overlong "/", a UTF-16 surrogate, a code point past U+10FFFF, a truncated sequence.
        for bad: [UInt8] in [[0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            let bytes = Array("m{a=\"".utf8) + bad + Array("\"} 1\n".utf8)
            XCTAssertEqual(rejection(bytes)?.message, "not UTF-8 (byte \(String(format: "0x%02X", bad[0])) at column 6)", "\(bad)")
        }
        // Past the eight-byte fast path, in a comment.
        XCTAssertEqual(rejection(Array("# a long enough comment ".utf8) + [0x80])?.message, "not UTF-8 (byte 0x80 at column 25)")
        // Valid multi-byte text is fine.
        XCTAssertEqual(try parsed("m{a=\"żółw 🐢 ✓\"} 1\n").samples[0].labels, labels(["a": "żółw 🐢 ✓"]))
    }

    func testNULBytes() {
        XCTAssertEqual(rejection(Array(#"m{a="x"#.utf8) + [0] + Array(#"y"} 1"#.utf8)),
                       ExpositionError(line: 1, message: "NUL byte at column 7"))
        XCTAssertEqual(rejection(Array("fo".utf8) + [0] + Array("o 1".utf8)), ExpositionError(line: 1, message: "NUL byte at column 3"))
        XCTAssertEqual(rejection([0, 0, 0, 0, 0, 0, 0, 0, 0, 0])?.message, "NUL byte at column 1")
        // OpenMetrics allows NUL in strings only.
        XCTAssertEqual(rejection(Array("fo".utf8) + [0] + Array("o 1\n# EOF\n".utf8), .openMetrics)?.message,
                       #"invalid character a NUL byte in metric name "fo\0o""#)
        XCTAssertEqual(rejection(Array("foo 1".utf8) + [0] + Array("\n# EOF\n".utf8), .openMetrics)?.message,
                       #"invalid value "1\0" (expected a number, +Inf, -Inf or NaN)"#)
    }

    func testBraceWithoutClosingBrace() {
        XCTAssertEqual(rejection(#"m{a="b""#), ExpositionError(line: 1, message: "missing '}' at the end of the labels"))
        XCTAssertEqual(rejection("m{"), ExpositionError(line: 1, message: "missing '}' at the end of the labels"))
        XCTAssertEqual(rejection(#"m{a="b", 1"#)?.message, "expected a label name, found '1'")
        XCTAssertEqual(rejection(#"m{a="b" 1"#)?.message, "expected ',' or '}' after the value of label a, found '1'")
        XCTAssertEqual(rejection(#"m{a 1"#)?.message, "expected '=' after label name a, found '1'")
        XCTAssertEqual(rejection(#"m{a=b} 1"#)?.message, "expected a quoted value after a=, found 'b'")
        XCTAssertEqual(rejection(#"m{"a"="b"} 1"#)?.message, "expected a label name, found '\"'")
        XCTAssertEqual(rejection(#"{a="b"} 1"#)?.message, "expected a metric name before the labels")
    }

    func testMissingOrMalformedValues() {
        XCTAssertEqual(rejection("a 1\nb 2\nc 3\nd 4\n" + #"m{a="b"}"#), ExpositionError(line: 5, message: "expected a value after the labels"))
        XCTAssertEqual(rejection("m\n")?.message, "expected a value after the metric name")
        XCTAssertEqual(rejection("m 12abc\n"), ExpositionError(line: 1, message: #"invalid value "12abc" (expected a number, +Inf, -Inf or NaN)"#))
        XCTAssertEqual(rejection("9m 1\n")?.message, "expected a metric name, found '9'")
        XCTAssertEqual(rejection("m-x 1\n")?.message, #"invalid character '-' in metric name "m-x""#)
        XCTAssertEqual(rejection("m 1 # {a=\"b\"} 1\n")?.message,
                       "unexpected '#' after the value (the text format has no exemplars or trailing comments)")
        let long = String(repeating: "x", count: 100)
        XCTAssertEqual(rejection("m \(long)\n")?.message,
                       "invalid value \"\(String(repeating: "x", count: 64))…\" (expected a number, +Inf, -Inf or NaN)")
    }

    func testEmptyBodies() throws {
        XCTAssertEqual(try parsed("").samples, [])
        XCTAssertEqual(try parsed("\n\n  \n# only comments\n").samples, [])
        XCTAssertEqual(try parsed("# EOF\n", .openMetrics).samples, [])
        XCTAssertEqual(try parsed("# EOF", .openMetrics).samples, [])
    }

    func testTooManyLabels() throws {
        func series(_ count: Int) -> String {
            "m{" + (0..<count).map { "l\($0)=\"v\"" }.joined(separator: ",") + "} 1\n"
        }
        XCTAssertEqual(try parsed(series(64)).samples[0].labels.count, 64)
        XCTAssertEqual(rejection("ok 1\n" + series(65)), ExpositionError(line: 2, message: "more than 64 labels"))
        XCTAssertEqual(rejection(series(5000))?.message, "more than 64 labels")
        XCTAssertEqual(rejection("m 1 # {" + (0..<65).map { "l\($0)=\"v\"" }.joined(separator: ",") + "} 1\n# EOF\n", .openMetrics)?.message,
                       "more than 64 labels in the exemplar")
    }

    func testOpenMetricsEOF() {
        XCTAssertEqual(rejection("m 1\n", .openMetrics), ExpositionError(line: 2, message: "no # EOF at the end (OpenMetrics)"))
        XCTAssertEqual(rejection("", .openMetrics), ExpositionError(line: 1, message: "no # EOF at the end (OpenMetrics)"))
        XCTAssertEqual(rejection("m 1\n# EOF\nn 2\n", .openMetrics), ExpositionError(line: 3, message: "content after # EOF"))
        XCTAssertEqual(rejection("m 1\n# EOF\n\n", .openMetrics), ExpositionError(line: 3, message: "content after # EOF"))
        XCTAssertEqual(rejection("# EOF now\n", .openMetrics)?.message, "unexpected text after # EOF")
    }

    func testMalformedExemplars() {
        func om(_ line: String) -> String? { rejection(line + "\n# EOF\n", .openMetrics)?.message }
        XCTAssertEqual(om(#"c_total 1 # {a="b"}"#), "expected a value after the exemplar's labels")
        XCTAssertEqual(om(#"c_total 1 # a="b" 1"#), "expected '{' after '#' (an exemplar starts with its labels)")
        XCTAssertEqual(om(#"c_total 1 #"#), "expected '{' after '#' (an exemplar starts with its labels)")
        XCTAssertEqual(om(#"c_total 1 # {a="b} 1"#), #"unterminated label value for a in the exemplar (missing closing ")"#)
        XCTAssertEqual(om(#"c_total 1 # {a="b" 1"#), "expected ',' or '}' after the value of label a in the exemplar, found '1'")
        XCTAssertEqual(om(#"c_total 1 # {a="b"} x"#), #"invalid exemplar value "x" (expected a number, +Inf, -Inf or NaN)"#)
        XCTAssertEqual(om(#"c_total 1 # {a="b"} 1 x"#), #"invalid exemplar timestamp "x" (expected seconds since the epoch)"#)
        XCTAssertEqual(om(#"c_total 1 # {a="b"} 1 2 3"#), #"unexpected text after the exemplar: "3""#)
        XCTAssertEqual(om(#"c_total 1 # {a="b",a="c"} 1"#), #"duplicate label name "a" in the exemplar"#)
        XCTAssertNil(om(#"c_total 1 2 # {a="b"} 1 2"#))
    }
}
