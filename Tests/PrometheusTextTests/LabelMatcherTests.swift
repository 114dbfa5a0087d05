import Foundation
import XCTest
import PrometheusText

final class LabelMatcherTests: XCTestCase {
    private func matcher(_ text: String) throws -> LabelMatcher {
        let list = try LabelMatcher.parseList(text)
        XCTAssertEqual(list.count, 1, text)
        return list[0]
    }

    private func parseError(_ text: String) -> String? {
        do {
            _ = try LabelMatcher.parseList(text)
            return nil
        } catch {
            return "\(error)"
        }
    }

    func testParsesListsWithAndWithoutBraces() throws {
        let expected = [
            try LabelMatcher(name: "code", op: .equal, value: "500"),
            try LabelMatcher(name: "method", op: .notEqual, value: "GET"),
        ]
        XCTAssertEqual(try LabelMatcher.parseList(#"code="500",method!="GET""#), expected)
        XCTAssertEqual(try LabelMatcher.parseList(#"{code="500",method!="GET"}"#), expected)
        XCTAssertEqual(try LabelMatcher.parseList(#"  { code = "500" , method != 'GET' , }  "#), expected)
        XCTAssertEqual(try matcher(#"status=~"5..""#), try LabelMatcher(name: "status", op: .matches, value: "5.."))
        XCTAssertEqual(try matcher(#"path!~"/health|/metrics""#).op, .notMatches)
        XCTAssertEqual(try LabelMatcher.parseList(""), [])
        XCTAssertEqual(try LabelMatcher.parseList(" {} "), [])
        XCTAssertEqual(try matcher(#"a="tab\tquote\"back\\slash""#).value, "tab\tquote\"back\\slash")
        XCTAssertEqual(try matcher(#"code=~`5\d\d`"#).value, #"5\d\d"#)
        XCTAssertEqual(try matcher(#"a="żółw""#).value, "żółw")
    }

    func testRegexesAreFullyAnchored() throws {
        let fiveHundreds = try matcher(#"status=~"5..""#)
        XCTAssertTrue(fiveHundreds.matches(labels(["status": "500"])))
        XCTAssertTrue(fiveHundreds.matches(labels(["method": "GET", "status": "503"])))
        XCTAssertFalse(fiveHundreds.matches(labels(["status": "5000"])))
        XCTAssertFalse(fiveHundreds.matches(labels(["status": "1500"])))
        XCTAssertFalse(fiveHundreds.matches(labels(["status": "50"])))
        XCTAssertFalse(fiveHundreds.matches(labels(["status": "500\n"])))
        // The anchors apply to the whole alternation, not to its first and last branch.
        let clientOrServer = try matcher(#"code=~"4..|5..""#)
        XCTAssertTrue(clientOrServer.matches(labels(["code": "404"])))
        XCTAssertTrue(clientOrServer.matches(labels(["code": "500"])))
        XCTAssertFalse(clientOrServer.matches(labels(["code": "4040"])))
        XCTAssertFalse(clientOrServer.matches(labels(["code": "1500"])))
        // As in Prometheus 3, `.` matches a line feed.
        XCTAssertTrue(try matcher(#"m=~"a.b""#).matches(labels(["m": "a\nb"])))
    }

    func testNegativeRegex() throws {
        let notHealth = try matcher(#"path!~"/health|/metrics""#)
        XCTAssertFalse(notHealth.matches(labels(["path": "/health"])))
        XCTAssertFalse(notHealth.matches(labels(["path": "/metrics"])))
        XCTAssertTrue(notHealth.matches(labels(["path": "/healthz"])))
        XCTAssertTrue(notHealth.matches(labels(["path": "/api"])))
        XCTAssertTrue(notHealth.matches([]))
    }

    func testMissingLabelCountsAsEmpty() throws {
        XCTAssertTrue(try matcher(#"method!="GET""#).matches([]))
        XCTAssertTrue(try matcher(#"method="""#).matches([]))
        XCTAssertFalse(try matcher(#"method="""#).matches(labels(["method": "GET"])))
        XCTAssertTrue(try matcher(#"method=~".*""#).matches([]))
        XCTAssertFalse(try matcher(#"method=~".+""#).matches([]))
        XCTAssertTrue(try matcher(#"method!~".+""#).matches([]))
        XCTAssertFalse(try matcher(#"status=~"5..""#).matches(labels(["code": "500"])))
        XCTAssertFalse(try matcher(#"code="500""#).matches(labels(["code": "5000"])))
    }

    func testReadableErrors() {
        XCTAssertEqual(parseError(#"code=~"5(..""#), #"invalid regular expression "5(..""#)
        XCTAssertEqual(parseError(#"code=~"a)|(b""#), #"invalid regular expression "a)|(b""#)
        XCTAssertEqual(parseError(#"code~"5""#), "expected =, !=, =~ or !~ after code (at column 5)")
        XCTAssertEqual(parseError(#"code="500"#), #"unterminated value after code= (missing closing ") (at column 6)"#)
        XCTAssertEqual(parseError(#"1code="5""#), "expected a label name (at column 1)")
        XCTAssertEqual(parseError(#"code=500"#), "expected a quoted value after code= (at column 6)")
        XCTAssertEqual(parseError(#"code=~"5\d\d""#),
                       #"unknown escape \d in code=~… (write \\d for a regex backslash) (at column 9)"#)
        XCTAssertEqual(parseError(#"{code="500""#), "missing '}' at the end of the matchers")
        XCTAssertEqual(parseError(#"code="500"}"#), "unexpected '}' (missing '{'?) (at column 11)")
        XCTAssertEqual(parseError(#"a="1" b="2""#), "expected ',' between matchers (at column 7)")
        XCTAssertThrowsError(try LabelMatcher(name: "bad-name", op: .equal, value: "x")) { error in
            XCTAssertEqual("\(error)", #""bad-name" is not a valid label name"#)
        }
    }

    func testCodableAndDescription() throws {
        let list = try LabelMatcher.parseList(#"code=~"5..",method!="GE\"T""#)
        let data = try JSONEncoder().encode(list)
        XCTAssertEqual(try JSONDecoder().decode([LabelMatcher].self, from: data), list)
        let decoded = try JSONDecoder().decode([LabelMatcher].self, from: data)
        XCTAssertTrue(decoded[0].matches(labels(["code": "502"])))
        XCTAssertEqual(list.map(\.description), [#"code=~"5..""#, #"method!="GE\"T""#])
        let invalid = Data(#"{"name":"code","op":"=~","value":"(("}"#.utf8)
        XCTAssertThrowsError(try JSONDecoder().decode(LabelMatcher.self, from: invalid))
    }

    func testChangingTheValueRecompiles() throws {
        var m = try matcher(#"code=~"5..""#)
        m.value = "4.."
        XCTAssertTrue(m.matches(labels(["code": "404"])))
        XCTAssertFalse(m.matches(labels(["code": "500"])))
        m.op = .equal
        XCTAssertTrue(m.matches(labels(["code": "4.."])))
    }
}
