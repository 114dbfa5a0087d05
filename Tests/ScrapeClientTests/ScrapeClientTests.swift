import Foundation
import XCTest
@testable import ScrapeClient

final class ScrapeClientTests: XCTestCase {
    private let metrics = Array("# TYPE up gauge\nup 1\nrequests_total{code=\"200\"} 1027\n".utf8)
    private let prometheusText = "text/plain; version=0.0.4; charset=utf-8"

    private func failure(_ result: Result<ScrapeResponse, ScrapeFailure>, file: StaticString = #filePath, line: UInt = #line) -> ScrapeFailure? {
        switch result {
        case .success(let response):
            XCTFail("expected a failure, got status \(response.status) with \(response.body.count) bytes", file: file, line: line)
            return nil
        case .failure(let failure):
            return failure
        }
    }

    private func client(_ allowlist: String, _ configure: (inout ScrapeClient) -> Void = { _ in }) throws -> ScrapeClient {
        var client = ScrapeClient(allowlist: try ScrapeAllowlist(parsing: allowlist))
        configure(&client)
        return client
    }

    // MARK: pages

    func testReturnsBodyContentTypeAndAddress() throws {
        let body = metrics
        let type = prometheusText
        let server = try startServer { _ in .response(status: 200, headers: [("Content-Type", type)], body: body) }
        let response = try client("loopback").fetch(server.url()).get()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body, metrics)
        XCTAssertEqual(response.contentType, prometheusText)
        XCTAssertEqual(response.connectedAddress, "127.0.0.1")

        let request = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(request.requestLine, "GET /metrics HTTP/1.1")
        XCTAssertEqual(request.header("User-Agent"), "Trainyard-scraper")
        XCTAssertEqual(request.header("Accept"),
                       "application/openmetrics-text;version=1.0.0;q=0.5, text/plain;version=0.0.4;q=0.4, */*;q=0.1")
        XCTAssertTrue(request.header("Accept-Encoding")?.contains("gzip") ?? false, request.head)
        XCTAssertNil(request.header("Cookie"))
        XCTAssertNil(request.header("Authorization"))
        XCTAssertEqual(server.connectionCount(settle: 0), 1)
    }

    func testAcceptsAFoundationURLFromTargetCheck() throws {
        let body = metrics
        let server = try startServer { _ in .response(status: 200, body: body) }
        let url = try TargetCheck.check(server.url("/metrics?format=prometheus"), allowlist: .loopbackOnly).get()
        let response = try ScrapeClient(allowlist: .loopbackOnly).fetch(url).get()
        XCTAssertEqual(response.body, metrics)
        XCTAssertNil(response.contentType)
        XCTAssertEqual(server.requests.first?.requestLine, "GET /metrics?format=prometheus HTTP/1.1")
    }

    func testDecodesGzip() throws {
        let compressed = gzipStored(metrics)
        let server = try startServer { _ in
            .response(status: 200, headers: [("Content-Type", "text/plain"), ("Content-Encoding", "gzip")], body: compressed)
        }
        XCTAssertEqual(try client("127.0.0.1").fetch(server.url()).get().body, metrics)
    }

    func testDecodesChunkedBodies() throws {
        let body = metrics
        let server = try startServer { _ in
            .chunked(headers: [("Content-Type", "text/plain")], chunks: [Array(body[0..<10]), Array(body[10..<11]), Array(body[11...])])
        }
        XCTAssertEqual(try client("127.0.0.1").fetch(server.url()).get().body, metrics)
    }

    func testEmptyPageIsAPage() throws {
        let server = try startServer { _ in .response(status: 204) }
        let response = try client("127.0.0.1").fetch(server.url()).get()
        XCTAssertEqual(response.status, 204)
        XCTAssertEqual(response.body, [])
    }

    // MARK: the allowlist, checked on connect

    func testTargetOutsideTheAllowlistIsNeverConnectedTo() throws {
        let server = try startServer { _ in .response(status: 200, body: Array("secret".utf8)) }
        let failure = failure(try client("10.0.0.0/8").fetch(server.url()))
        XCTAssertEqual(failure, .refused("refused to connect to 127.0.0.1: outside the scrape allowlist (10.0.0.0/8)"))
        XCTAssertEqual(failure?.description, "refused to connect to 127.0.0.1: outside the scrape allowlist (10.0.0.0/8)")
        XCTAssertEqual(server.connectionCount(), 0)
    }

    func testAllowlistIsCheckedAfterDNS() throws {
        // The name is not loopback-looking and the allowlist has no host
        // entry for it: only the resolved address decides, and it is out.
        let server = try startServer { _ in .response(status: 200, body: Array("secret".utf8)) }
        let pinned = try client("192.0.2.10") { $0.resolveOverrides = ["models.example": ["127.0.0.1"]] }
        let failure = failure(pinned.fetch("http://models.example:\(server.port)/metrics"))
        XCTAssertEqual(failure, .refused(
            "refused to connect to 127.0.0.1 (for models.example): outside the scrape allowlist (192.0.2.10/32)"
        ))
        XCTAssertEqual(server.connectionCount(), 0)

        // The same pin, where the resolved address is allowed, connects.
        let allowed = try client("127.0.0.1/32") { $0.resolveOverrides = ["models.example": ["127.0.0.1"]] }
        XCTAssertEqual(try allowed.fetch("http://models.example:\(server.port)/metrics").get().body, Array("secret".utf8))
        XCTAssertEqual(server.requests.first?.header("Host"), "models.example:\(server.port)")
    }

    func testHostEntryAllowsWhateverTheNameResolvesTo() throws {
        let body = metrics
        let server = try startServer { _ in .response(status: 200, body: body) }
        let byName = try client("192.0.2.0/24, models.example") {
            $0.resolveOverrides = ["models.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]]
        }
        XCTAssertEqual(try byName.fetch("http://MODELS.example:\(server.port)/metrics").get().body, metrics)
        XCTAssertEqual(server.connectionCount(settle: 0), 1)
        XCTAssertEqual(failure(byName.fetch("http://other.example:\(server.port)/metrics")), .refused(
            "refused to connect to 127.0.0.1 (for other.example): outside the scrape allowlist (192.0.2.0/24, models.example)"
        ))
        XCTAssertEqual(server.connectionCount(), 1)
    }

    func testEveryAddressOfANameIsCheckedAndOnlyAllowedOnesAreTried() throws {
        let body = metrics
        let server = try startServer { _ in .response(status: 200, body: body) }
        // 127.0.0.2 is refused (no socket); 127.0.0.1 is allowed and answers.
        let mixed = try client("127.0.0.1") { $0.resolveOverrides = ["models.example": ["127.0.0.2", "127.0.0.1"]] }
        let response = try mixed.fetch("http://models.example:\(server.port)/metrics").get()
        XCTAssertEqual(response.body, metrics)
        XCTAssertEqual(response.connectedAddress, "127.0.0.1")
    }

    func testMappedIPv6LiteralIsJudgedAsIPv4() throws {
        let server = try startServer { _ in .response(status: 200, body: Array("secret".utf8)) }
        let failure = failure(try client("10.0.0.0/8").fetch("http://[::ffff:127.0.0.1]:\(server.port)/metrics"))
        guard case .refused(let message) = failure else { return XCTFail("\(String(describing: failure))") }
        XCTAssertTrue(message.contains("outside the scrape allowlist (10.0.0.0/8)"), message)
        XCTAssertEqual(server.connectionCount(), 0)
    }

    func testIPv6TargetsAreCheckedToo() throws {
        let body = metrics
        let server = try startServer(host: "::1") { _ in .response(status: 200, body: body) }
        let response = try client("::1").fetch(server.url()).get()
        XCTAssertEqual(response.body, metrics)
        XCTAssertEqual(response.connectedAddress, "::1")

        XCTAssertEqual(failure(try client("127.0.0.0/8").fetch(server.url())),
                       .refused("refused to connect to ::1: outside the scrape allowlist (127.0.0.0/8)"))
        // A name pinned to an IPv6 address goes through CURLOPT_RESOLVE in brackets.
        let pinned = try client("::1/128") { $0.resolveOverrides = ["models.example": ["::1"]] }
        XCTAssertEqual(try pinned.fetch("http://models.example:\(server.port)/metrics").get().body, metrics)
        XCTAssertEqual(server.connectionCount(), 2)
    }

    func testProxyFromTheEnvironmentIsIgnored() throws {
        let proxy = try startServer { _ in .response(status: 200, body: Array("via proxy".utf8)) }
        let target = try startServer { _ in .response(status: 200, body: Array("direct".utf8)) }
        let names = ["http_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"]
        for name in names { setenv(name, "http://127.0.0.1:\(proxy.port)", 1) }
        defer { for name in names { unsetenv(name) } }
        XCTAssertEqual(try client("loopback").fetch(target.url()).get().body, Array("direct".utf8))
        XCTAssertEqual(proxy.connectionCount(), 0)
    }

    func testRedirectIsReportedAndNotFollowed() throws {
        let elsewhere = try startServer(host: "127.0.0.2") { _ in .response(status: 200, body: Array("internal".utf8)) }
        let location = "http://127.0.0.2:\(elsewhere.port)/"
        let server = try startServer { _ in .response(status: 302, headers: [("Location", location)], body: Array("moved".utf8)) }

        let failure = failure(try client("127.0.0.1/32").fetch(server.url()))
        XCTAssertEqual(failure, .redirect(status: 302, location: location))
        XCTAssertEqual(failure?.description, "redirect (302) to \(location) not followed")
        // Not followed even where the allowlist would let it through.
        XCTAssertEqual(self.failure(try client("loopback").fetch(server.url())), .redirect(status: 302, location: location))
        XCTAssertEqual(elsewhere.connectionCount(), 0)
    }

    func testRelativeRedirectIsReportedAsAnAbsoluteLocation() throws {
        let server = try startServer { _ in .response(status: 301, headers: [("Location", "/new-metrics")]) }
        XCTAssertEqual(failure(try client("loopback").fetch(server.url())),
                       .redirect(status: 301, location: server.url("/new-metrics")))
    }

    func testOtherSchemesAreRefusedWithoutReadingAnything() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("scrape-\(UUID().uuidString)")
        try Data("root:x:0:0\n".utf8).write(to: scratch)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let gopher = try startServer { _ in .response(status: 200, body: Array("gopher".utf8)) }
        let everything = try client("0.0.0.0/0, ::/0")

        for url in ["file://\(scratch.path)", "gopher://127.0.0.1:\(gopher.port)/", "dict://127.0.0.1:\(gopher.port)/", "ftp://127.0.0.1:\(gopher.port)/"] {
            XCTAssertEqual(failure(everything.fetch(url)), .refused("Only http and https URLs can be scraped."), url)
        }
        XCTAssertEqual(failure(everything.fetch("http://user:pw@127.0.0.1:\(gopher.port)/")),
                       .refused("Credentials in the URL are not supported."))
        XCTAssertEqual(gopher.connectionCount(), 0)
    }

    // MARK: failures

    func testBodyOverTheLimitIsRefused() throws {
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: (64 << 10) + 1)
        let declared = try startServer { _ in .response(status: 200, body: big) }
        let streamed = try startServer { _ in .endless() }
        let chunked = try startServer { _ in .chunked(chunks: [Array(big[..<40_000]), Array(big[40_000...])]) }
        let small = try client("loopback") { $0.maxBodyBytes = 64 << 10 }

        for server in [declared, streamed, chunked] {
            let failure = failure(small.fetch(server.url()))
            XCTAssertEqual(failure, .tooLarge(limit: 64 << 10))
            XCTAssertEqual(failure?.description, "the page is larger than 64 KiB")
        }
        // Exactly at the limit is fine.
        let exact = try startServer { _ in .response(status: 200, body: Array(big.dropLast())) }
        XCTAssertEqual(try small.fetch(exact.url()).get().body.count, 64 << 10)
    }

    func testLimitCountsDecodedBytes() throws {
        // 1051 bytes on the wire, 1 MiB decoded.
        let bomb = gzipOfOneMiBOfZeros
        let server = try startServer { _ in .response(status: 200, headers: [("Content-Encoding", "gzip")], body: bomb) }
        XCTAssertEqual(failure(try client("loopback") { $0.maxBodyBytes = 64 << 10 }.fetch(server.url())),
                       .tooLarge(limit: 64 << 10))
        let roomy = try client("loopback").fetch(server.url()).get()
        XCTAssertEqual(roomy.body.count, 1 << 20)
        XCTAssertTrue(roomy.body.allSatisfy { $0 == 0 })
    }

    func testDefaultLimitIsTenMiB() throws {
        let client = ScrapeClient(allowlist: .loopbackOnly)
        XCTAssertEqual(client.maxBodyBytes, 10 << 20)
        XCTAssertEqual(client.timeout, 5)
        let server = try startServer { _ in .endless() }
        let failure = failure(client.fetch(server.url()))
        XCTAssertEqual(failure, .tooLarge(limit: 10 << 20))
        XCTAssertEqual(failure?.description, "the page is larger than 10 MiB")
    }

    func testSilentTargetTimesOut() throws {
        let server = try startServer { _ in .silence }
        let started = Date()
        let failure = failure(try client("loopback") { $0.timeout = 0.5 }.fetch(server.url()))
        XCTAssertEqual(failure, .timeout(seconds: 0.5))
        XCTAssertEqual(failure?.description, "no answer within 0.5 s")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "it returned")
        XCTAssertEqual(ScrapeFailure.timeout(seconds: 5).description, "no answer within 5 s")
    }

    func testClosedPortIsAConnectionFailure() throws {
        let port = TestHTTPServer.closedPort()
        let failure = failure(try client("loopback").fetch("http://127.0.0.1:\(port)/metrics"))
        guard case .connection(let message) = failure else { return XCTFail("\(String(describing: failure))") }
        XCTAssertTrue(message.contains("127.0.0.1"), message)
        XCTAssertTrue(message.contains("\(port)"), message)
        XCTAssertFalse(message.contains("\n"))
    }

    func testUnresolvableNameIsAConnectionFailure() throws {
        let failure = failure(try client("loopback").fetch("http://no-such-host.invalid/metrics"))
        guard case .connection(let message) = failure else { return XCTFail("\(String(describing: failure))") }
        XCTAssertTrue(message.contains("no-such-host.invalid"), message)
    }

    func testErrorStatusIsReportedWithoutTheBody() throws {
        let server = try startServer { _ in .response(status: 503, body: Array("<html>overloaded, secret=hunter2</html>".utf8)) }
        let failure = failure(try client("loopback").fetch(server.url()))
        XCTAssertEqual(failure, .httpStatus(503))
        XCTAssertEqual(failure?.description, "the target answered 503")
        let missing = try startServer { _ in .response(status: 404) }
        XCTAssertEqual(self.failure(try client("loopback").fetch(missing.url())), .httpStatus(404))
    }

    func testStatusWinsOverWhatStoppedTheBody() throws {
        let huge = [UInt8](repeating: UInt8(ascii: "e"), count: 200 << 10)
        let small = try client("loopback") { $0.maxBodyBytes = 64 << 10 }
        let declared = try startServer { _ in .response(status: 503, body: huge) }
        XCTAssertEqual(failure(small.fetch(declared.url())), .httpStatus(503))
        let movedWithHugeBody = try startServer { _ in .chunked(status: 302, headers: [("Location", "/elsewhere")], chunks: [huge]) }
        XCTAssertEqual(failure(small.fetch(movedWithHugeBody.url())), .redirect(status: 302, location: nil))
    }

    func testDescriptionsStayOnOneLine() {
        XCTAssertEqual(ScrapeFailure.redirect(status: 307, location: nil).description, "redirect (307) not followed")
        XCTAssertEqual(ScrapeFailure.redirect(status: 302, location: "http://x/\r\nSet-Cookie: a").description,
                       "redirect (302) to http://x/  Set-Cookie: a not followed")
        XCTAssertEqual(ScrapeFailure.tooLarge(limit: 1000).description, "the page is larger than 1000 bytes")
        XCTAssertEqual(ScrapeFailure.connection(String(repeating: "e", count: 500)).description.count, 201)
    }

    // MARK: threads

    func testConcurrentFetchesFromEightThreads() throws {
        let server = try startServer { request in
            .response(status: 200, headers: [("Content-Type", "text/plain")], body: Array("path \(request.requestLine)".utf8))
        }
        let client = try client("loopback")
        let results = Results()
        let group = DispatchGroup()
        for thread in 0..<8 {
            group.enter()
            Thread {
                for round in 0..<5 {
                    let path = "/metrics?thread=\(thread)&round=\(round)"
                    let body = (try? client.fetch(server.url(path)).get()).map { String(decoding: $0.body, as: UTF8.self) }
                    results.add(body == "path GET \(path) HTTP/1.1")
                }
                group.leave()
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(results.outcomes.count, 40)
        XCTAssertTrue(results.outcomes.allSatisfy { $0 })
        XCTAssertEqual(server.connectionCount(settle: 0), 40)
    }
}

private final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Bool] = []
    func add(_ value: Bool) { lock.withLock { values.append(value) } }
    var outcomes: [Bool] { lock.withLock { values } }
}
