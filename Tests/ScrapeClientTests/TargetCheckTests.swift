import XCTest
@testable import ScrapeClient

final class TargetCheckTests: XCTestCase {
    private func refusal<T>(_ result: Result<T, TargetRefusal>, file: StaticString = #filePath, line: UInt = #line) -> String? {
        switch result {
        case .success(let value):
            XCTFail("expected a refusal, got \(value)", file: file, line: line)
            return nil
        case .failure(let refusal):
            return refusal.message
        }
    }

    func testOnlyHTTPAndHTTPS() {
        for url in ["file:///etc/passwd", "file:/etc/passwd", "gopher://127.0.0.1:70/", "ftp://127.0.0.1/pub/", "FTP://x/",
                    "dict://127.0.0.1:11211/stats", "ldap://127.0.0.1/", "ws://127.0.0.1/"] {
            XCTAssertEqual(refusal(TargetCheck.validate(url)), "Only http and https URLs can be scraped.", url)
        }
        XCTAssertEqual(refusal(TargetCheck.validate("localhost:9090/metrics")), "The URL must start with http:// or https://.")
        XCTAssertEqual(refusal(TargetCheck.validate("")), "Enter the URL of the target's /metrics page.")
    }

    func testControlCharactersAreRefusedNotCutShort() {
        for url in ["http://127.0.0.1:9/metrics\u{0}z", "http://127.0.0.1:9/met\nrics", "http://127.0.0.1:9/\u{7F}"] {
            XCTAssertEqual(refusal(TargetCheck.validate(url)), "The URL may not hold control characters.", url)
        }
    }

    func testSyntaxRefusals() {
        XCTAssertEqual(refusal(TargetCheck.validate("http://user:pw@127.0.0.1/")), "Credentials in the URL are not supported.")
        XCTAssertEqual(refusal(TargetCheck.validate("http://token@127.0.0.1/metrics")), "Credentials in the URL are not supported.")
        XCTAssertEqual(refusal(TargetCheck.validate("http:///metrics")), "The URL has no host.")
        XCTAssertEqual(refusal(TargetCheck.validate("http://")), "The URL has no host.")
        XCTAssertEqual(refusal(TargetCheck.validate("http://:9090/metrics")), "The URL has no host.")
        for port in ["0", "65536", "99999", "http"] {
            XCTAssertEqual(refusal(TargetCheck.validate("http://127.0.0.1:\(port)/metrics")), "The port must be between 1 and 65535.", port)
        }
        XCTAssertEqual(refusal(TargetCheck.validate("http://a b/metrics")), "The URL's host is not a valid host name or address.")
        let long = "http://models.internal/" + String(repeating: "a", count: 2048)
        XCTAssertEqual(refusal(TargetCheck.validate(long)), "The URL is longer than 2048 characters.")
    }

    func testValidateNormalises() throws {
        XCTAssertEqual(try TargetCheck.validate("  HTTP://Models.Internal:9090/metrics#top ").get().absoluteString,
                       "http://models.internal:9090/metrics")
        XCTAssertEqual(try TargetCheck.validate("https://[FD00::2]:8443/metrics?x=1").get().absoluteString,
                       "https://[fd00::2]:8443/metrics?x=1")
        XCTAssertEqual(try TargetCheck.validate("http://127.0.0.1:65535").get().absoluteString, "http://127.0.0.1:65535/")
        // libcurl's reading of odd IPv4 spellings is the one that counts.
        XCTAssertEqual(try TargetCheck.validate("http://2130706433/metrics").get().absoluteString, "http://127.0.0.1/metrics")
    }

    func testNamePinnedToLoopbackIsOutsideATenNetAllowlist() throws {
        let allowlist = try ScrapeAllowlist(parsing: "10.0.0.0/8")
        XCTAssertEqual(
            refusal(TargetCheck.check("http://models.example:9090/metrics", allowlist: allowlist,
                                      resolveOverrides: ["models.example": ["127.0.0.1"]])),
            "models.example resolves to 127.0.0.1, which is outside the scrape allowlist (10.0.0.0/8)"
        )
        // Every address must be allowed, not just one of them.
        XCTAssertEqual(
            refusal(TargetCheck.check("http://models.example/metrics", allowlist: allowlist,
                                      resolveOverrides: ["models.example": ["10.0.0.5", "127.0.0.1"]])),
            "models.example resolves to 127.0.0.1, which is outside the scrape allowlist (10.0.0.0/8)"
        )
        XCTAssertEqual(
            try TargetCheck.check("http://models.example/metrics", allowlist: allowlist,
                                  resolveOverrides: ["models.example": ["10.0.0.5", "::ffff:10.0.0.6"]]).get().absoluteString,
            "http://models.example/metrics"
        )
    }

    func testLocalhostWithTheRealResolverIsRefused() throws {
        let allowlist = try ScrapeAllowlist(parsing: "10.0.0.0/8")
        let message = refusal(TargetCheck.check("http://localhost:9090/metrics", allowlist: allowlist))
        XCTAssertTrue(message?.hasPrefix("localhost resolves to ") ?? false, message ?? "")
        XCTAssertTrue(message?.hasSuffix(", which is outside the scrape allowlist (10.0.0.0/8)") ?? false, message ?? "")
        // …and accepted where loopback is allowed.
        XCTAssertNoThrow(try TargetCheck.check("http://localhost:9090/metrics", allowlist: .loopbackOnly).get())
    }

    func testLiteralAddresses() throws {
        let allowlist = try ScrapeAllowlist(parsing: "10.0.0.0/8")
        XCTAssertEqual(refusal(TargetCheck.check("http://127.0.0.1:9090/", allowlist: allowlist)),
                       "127.0.0.1 is outside the scrape allowlist (10.0.0.0/8)")
        XCTAssertEqual(refusal(TargetCheck.check("http://[::ffff:127.0.0.1]/", allowlist: allowlist)),
                       "::ffff:127.0.0.1 is outside the scrape allowlist (10.0.0.0/8)")
        XCTAssertEqual(refusal(TargetCheck.check("http://0x7f.1/", allowlist: allowlist)),
                       "127.0.0.1 is outside the scrape allowlist (10.0.0.0/8)")
        XCTAssertNoThrow(try TargetCheck.check("http://10.20.30.40:9090/metrics", allowlist: allowlist).get())
        XCTAssertNoThrow(try TargetCheck.check("http://[::1]:9090/metrics", allowlist: .loopbackOnly).get())
    }

    func testHostEntryAllowsTheNamesAddresses() throws {
        let allowlist = try ScrapeAllowlist(parsing: "10.0.0.0/8, models.example")
        XCTAssertEqual(
            try TargetCheck.check("http://Models.Example:9090/metrics", allowlist: allowlist,
                                  resolveOverrides: ["models.example": ["192.0.2.50"]]).get().absoluteString,
            "http://models.example:9090/metrics"
        )
        XCTAssertEqual(
            refusal(TargetCheck.check("http://other.example:9090/metrics", allowlist: allowlist,
                                      resolveOverrides: ["other.example": ["192.0.2.50"]])),
            "other.example resolves to 192.0.2.50, which is outside the scrape allowlist (10.0.0.0/8, models.example)"
        )
    }

    func testUnresolvableNamesAreRefused() {
        XCTAssertEqual(
            refusal(TargetCheck.check("http://models.example/metrics", allowlist: .loopbackOnly,
                                      resolveOverrides: ["models.example": []])),
            "models.example does not resolve"
        )
        XCTAssertEqual(
            refusal(TargetCheck.check("http://no-such-host.invalid/metrics", allowlist: .loopbackOnly)),
            "no-such-host.invalid does not resolve"
        )
    }

    func testCheckStillAppliesSyntaxRules() {
        XCTAssertEqual(refusal(TargetCheck.check("gopher://127.0.0.1:70/", allowlist: .loopbackOnly)),
                       "Only http and https URLs can be scraped.")
        XCTAssertEqual(refusal(TargetCheck.check("http://user:pw@127.0.0.1/", allowlist: .loopbackOnly)),
                       "Credentials in the URL are not supported.")
    }
}
