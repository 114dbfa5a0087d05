import Testing
@testable import HTTPServer

/// Parses `input` in one piece and returns the requests and the failure, if any.
private func parse(_ input: String, limits: HTTPParserLimits = HTTPParserLimits()) -> (requests: [HTTPRequest], failure: HTTPParseError?) {
    parseBytes(Array(input.utf8), limits: limits)
}

private func parseBytes(_ input: [UInt8], limits: HTTPParserLimits = HTTPParserLimits()) -> (requests: [HTTPRequest], failure: HTTPParseError?) {
    var parser = HTTPRequestParser(limits: limits)
    var requests: [HTTPRequest] = []
    var failure: HTTPParseError?
    for event in parser.feed(input) {
        switch event {
        case .request(let request): requests.append(request)
        case .failure(let error): failure = error
        case .expectContinue: break
        }
    }
    return (requests, failure)
}

private func status(_ input: String, limits: HTTPParserLimits = HTTPParserLimits()) -> Int? {
    parse(input, limits: limits).failure?.status
}

@Suite struct HTTPRequestParserTests {
    // MARK: valid requests

    @Test func simpleGet_ParsesMethodTargetVersionAndHeaders() {
        let result = parse("GET /deployments?status=active&status=paused HTTP/1.1\r\nHost: example.com\r\nAccept: text/html\r\n\r\n")
        #expect(result.failure == nil)
        #expect(result.requests.count == 1)
        let request = result.requests[0]
        #expect(request.method == "GET")
        #expect(request.target == "/deployments?status=active&status=paused")
        #expect(request.path == "/deployments")
        #expect(request.queryString == "status=active&status=paused")
        #expect(request.query.all("status") == ["active", "paused"])
        #expect(request.version == .http11)
        #expect(request.headers["host"] == "example.com")
        #expect(request.headers["ACCEPT"] == "text/html")
        #expect(request.body.isEmpty)
        #expect(request.wantsKeepAlive)
    }

    @Test func pipelinedPair_YieldsTwoRequestsInOrder() {
        let result = parse("GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        #expect(result.failure == nil)
        #expect(result.requests.map(\.path) == ["/a", "/b"])
        #expect(result.requests[1].body == Array("abc".utf8))
    }

    @Test func chunkedBody_IsDecodedAndTrailersIgnored() {
        let result = parse("POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(result.failure == nil)
        #expect(result.requests.count == 2)
        #expect(String(decoding: result.requests[0].body, as: UTF8.self) == "hello 0123456789")
        #expect(result.requests[0].headers["X-Trailer"] == nil)
        #expect(result.requests[1].path == "/next")
    }

    @Test func http10_WithoutHostIsAcceptedAndClosesByDefault() {
        let result = parse("GET / HTTP/1.0\r\n\r\n")
        #expect(result.failure == nil)
        #expect(result.requests.first?.version == .http10)
        #expect(result.requests.first?.wantsKeepAlive == false)
        let keepAlive = parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        #expect(keepAlive.requests.first?.wantsKeepAlive == true)
    }

    @Test func connectionClose_DisablesKeepAlive() {
        #expect(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").requests.first?.wantsKeepAlive == false)
    }

    @Test func bytesSplitAnywhere_ParseTheSame() {
        let input = Array("POST /p?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /two HTTP/1.1\r\nHost: y\r\n\r\n".utf8)
        for split in 1..<input.count {
            var parser = HTTPRequestParser()
            var paths: [String] = []
            for event in parser.feed(Array(input[..<split])) + parser.feed(Array(input[split...])) {
                if case .request(let request) = event { paths.append(request.path + ":" + String(decoding: request.body, as: UTF8.self)) }
                if case .failure(let error) = event { Issue.record("split \(split): \(error)") }
            }
            #expect(paths == ["/p:hello", "/two:"])
        }
    }

    @Test func byteAtATime_ParsesChunkedRequest() {
        var parser = HTTPRequestParser()
        var bodies: [String] = []
        for byte in Array("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".utf8) {
            for event in parser.feed([byte]) {
                if case .request(let request) = event { bodies.append(String(decoding: request.body, as: UTF8.self)) }
            }
        }
        #expect(bodies == ["abc"])
        #expect(!parser.hasPartialRequest)
    }

    @Test func leadingEmptyLine_IsIgnored() {
        #expect(parse("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n").requests.count == 1)
    }

    @Test func headerValue_IsTrimmedAndKeepsInnerSpaces() {
        let request = parse("GET / HTTP/1.1\r\nHost: x\r\nX-A: \t one two \t\r\n\r\n").requests.first
        #expect(request?.headers["x-a"] == "one two")
    }

    @Test func percentEncodedPath_IsDecodedOnceAndRawPathKept() {
        let request = parse("GET /a%20b/%252e?x=%41 HTTP/1.1\r\nHost: x\r\n\r\n").requests.first
        #expect(request?.path == "/a b/%2e")
        #expect(request?.rawPath == "/a%20b/%252e")
        #expect(request?.query["x"] == "A")
    }

    @Test func absoluteFormTarget_UsesThePath() {
        let request = parse("GET http://example.com/x/y?z=1 HTTP/1.1\r\nHost: example.com\r\n\r\n").requests.first
        #expect(request?.path == "/x/y")
        #expect(request?.query["z"] == "1")
    }

    @Test func expectContinue_IsReportedBeforeTheBody() {
        var parser = HTTPRequestParser()
        let events = parser.feed(Array("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8))
        #expect(events.count == 1)
        if case .expectContinue = events.first {} else { Issue.record("expected expectContinue, got \(events)") }
        let rest = parser.feed(Array("ok".utf8))
        if case .request(let request) = rest.first { #expect(request.body == Array("ok".utf8)) } else { Issue.record("no request") }
    }

    @Test func contentLengthZeroAndSameDuplicates_AreAccepted() {
        #expect(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").requests.count == 1)
        let dup = parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc")
        #expect(dup.failure == nil)
        #expect(dup.requests.first?.body == Array("abc".utf8))
        #expect(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc").failure == nil)
    }

    @Test func finish_WithPartialRequestFails() {
        var parser = HTTPRequestParser()
        _ = parser.feed(Array("GET / HT".utf8))
        #expect(parser.hasPartialRequest)
        if case .failure(let error) = parser.finish().first { #expect(error.status == 400) } else { Issue.record("expected failure") }
        var idle = HTTPRequestParser()
        #expect(idle.finish().isEmpty)
    }

    @Test func afterFailure_NothingMoreIsParsed() {
        var parser = HTTPRequestParser()
        _ = parser.feed(Array("GET / HTTP/1.1\nHost: x\r\n\r\n".utf8))
        #expect(parser.hasFailed)
        #expect(parser.feed(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)).isEmpty)
    }

    // MARK: framing and smuggling rejections

    @Test func contentLengthWithTransferEncoding_Is400() {
        #expect(status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400)
        #expect(status("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n") == 400)
    }

    @Test func differingDuplicateContentLength_Is400() {
        #expect(status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!") == 400)
        #expect(status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!") == 400)
    }

    @Test(arguments: ["+5", "-1", "0x10", "1_0", "5 5", "1.0", "", "5,", "99999999999999999999", "9223372036854775808", "\u{661}"])
    func malformedContentLength_Is400(value: String) {
        #expect(status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \(value)\r\n\r\n") == 400)
    }

    @Test(arguments: ["gzip", "gzip, chunked", "chunked, gzip", "chunked, chunked", "identity", "chunked;q=1", "xchunked"])
    func transferEncodingOtherThanChunked_Is501(value: String) {
        #expect(status("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \(value)\r\n\r\n0\r\n\r\n") == 501)
    }

    @Test func twoTransferEncodingFields_Is501() {
        #expect(status("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 501)
    }

    @Test func transferEncodingInHTTP10_Is400() {
        #expect(status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400)
    }

    @Test(arguments: ["g\r\n", "\r\n", "-1\r\n", "0x5\r\n", " 5\r\n", "5 x\r\n", "12345678901234567\r\n", "5\n", "5\rx\r\n"])
    func invalidChunkSizeLine_Is400(line: String) {
        #expect(status("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + line + "hello\r\n0\r\n\r\n") == 400)
    }

    /// A 2 KB body in 1-byte chunks with long extensions: framing far beyond the data is refused
    /// before it is all read; ordinary extensions and many small chunks are not.
    @Test func chunkFramingThatOutweighsTheDataIs400() {
        let head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        let padded = String(repeating: "1;" + String(repeating: "x", count: 200) + "\r\na\r\n", count: 2_000) + "0\r\n\r\n"
        let refused = parse(head + padded)
        #expect(refused.failure?.status == 400 && refused.requests.isEmpty)
        #expect(refused.failure?.reason.contains("chunk framing") == true)
        let small = String(repeating: "1\r\na\r\n", count: 2_000) + "0\r\n\r\n"
        #expect(parse(head + small).requests.first?.body.count == 2_000, "plain 1-byte chunks: framing 3 bytes per byte, within the grace")
        let large = String(repeating: "400;name=value\r\n" + String(repeating: "b", count: 1024) + "\r\n", count: 200) + "0\r\n\r\n"
        #expect(parse(head + large).requests.first?.body.count == 204_800)
    }

    @Test func chunkDataWithoutCRLF_Is400() {
        #expect(status("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n") == 400)
    }

    @Test func obsFold_Is400() {
        #expect(status("GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n") == 400)
        #expect(status("GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo\r\n\r\n") == 400)
        #expect(status("GET / HTTP/1.1\r\n Host: x\r\n\r\n") == 400)
    }

    @Test func whitespaceBeforeColon_Is400() {
        #expect(status("GET / HTTP/1.1\r\nHost : x\r\n\r\n") == 400)
        #expect(status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length\t: 1\r\n\r\na") == 400)
    }

    @Test func bareLF_Is400() {
        #expect(status("GET / HTTP/1.1\nHost: x\r\n\r\n") == 400)
        #expect(status("GET / HTTP/1.1\r\nHost: x\n\r\n") == 400)
        #expect(status("GET / HTTP/1.1\r\nHost: x\r\n\n") == 400)
    }

    @Test func bareCR_Is400() {
        #expect(status("GET / HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n") == 400)
        #expect(status("GET /\r HTTP/1.1\r\nHost: x\r\n\r\n") == 400)
    }

    @Test func controlCharactersInValue_Are400() {
        #expect(parseBytes(Array("GET / HTTP/1.1\r\nHost: x\r\nX-A: a".utf8) + [0] + Array("b\r\n\r\n".utf8)).failure?.status == 400)
        #expect(parseBytes(Array("GET / HTTP/1.1\r\nHost: x\r\nX-A: a".utf8) + [0x7F] + Array("\r\n\r\n".utf8)).failure?.status == 400)
        #expect(parseBytes(Array("GET / HTTP/1.1\r\nHost: x\r\nX-A: a".utf8) + [0x01] + Array("\r\n\r\n".utf8)).failure?.status == 400)
    }

    @Test(arguments: ["X(A)", "X/A", "X@A", "X[A]", "X\"A", "", "X{A}", "Ä"])
    func invalidFieldName_Is400(name: String) {
        #expect(status("GET / HTTP/1.1\r\nHost: x\r\n\(name): v\r\n\r\n") == 400)
    }

    @Test func fieldLineWithoutColon_Is400() {
        #expect(status("GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n") == 400)
    }

    @Test func missingOrDuplicateHost_Is400() {
        #expect(status("GET / HTTP/1.1\r\n\r\n") == 400)
        #expect(status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400)
        #expect(status("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n") == 400)
        #expect(status("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n") == 400)
    }

    @Test(arguments: ["HTTP/2.0", "HTTP/3.0", "HTTP/0.9", "HTTP/9.1"])
    func unsupportedVersion_Is505(version: String) {
        #expect(status("GET / \(version)\r\nHost: x\r\n\r\n") == 505)
    }

    @Test(arguments: [
        "GET /", "GET / HTTP/1.1 extra", "GET  / HTTP/1.1", "GET / HTTP/1.1 ", " GET / HTTP/1.1", "GET / http/1.1",
        "GET / HTTP/1.10", "GET / HTTP/11", "GET / HTTP/1", "G(T / HTTP/1.1", "GET foo HTTP/1.1", "GET /a#frag HTTP/1.1",
        "GET * HTTP/1.1", "GET /\u{7F} HTTP/1.1", "GET /é HTTP/1.1", "GET\t/ HTTP/1.1",
    ])
    func malformedRequestLine_Is400(line: String) {
        #expect(status(line + "\r\nHost: x\r\n\r\n") == 400)
    }

    @Test func unknownExpectation_Is417() {
        #expect(status("POST / HTTP/1.1\r\nHost: x\r\nExpect: something\r\nContent-Length: 1\r\n\r\na") == 417)
    }

    // MARK: limits

    @Test func requestLineOverLimit_Is414EvenBeforeItEnds() {
        let limits = HTTPParserLimits(maxHeadBytes: 1024, maxRequestLineBytes: 64, maxBodyBytes: 100)
        #expect(status("GET /" + String(repeating: "a", count: 100), limits: limits) == 414)
        #expect(status("GET /" + String(repeating: "a", count: 100) + " HTTP/1.1\r\nHost: x\r\n\r\n", limits: limits) == 414)
    }

    @Test func headOverLimit_Is431EvenBeforeItEnds() {
        let limits = HTTPParserLimits(maxHeadBytes: 256, maxRequestLineBytes: 64, maxBodyBytes: 100)
        let big = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "b", count: 300)
        #expect(status(big, limits: limits) == 431)
        #expect(status(big + "\r\n\r\n", limits: limits) == 431)
    }

    @Test func tooManyHeaderFields_Is431() {
        let limits = HTTPParserLimits(maxHeadBytes: 100_000, maxRequestLineBytes: 64, maxBodyBytes: 100, maxHeaderCount: 10)
        let fields = (0..<11).map { "X-\($0): v\r\n" }.joined()
        #expect(status("GET / HTTP/1.1\r\nHost: x\r\n" + fields + "\r\n", limits: limits) == 431)
    }

    @Test func bodyOverLimit_Is413FromContentLengthAlone() {
        let limits = HTTPParserLimits(maxHeadBytes: 1024, maxRequestLineBytes: 64, maxBodyBytes: 10)
        #expect(status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", limits: limits) == 413)
        #expect(status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789", limits: limits) == nil)
    }

    @Test func chunkedBodyOverLimit_Is413() {
        let limits = HTTPParserLimits(maxHeadBytes: 1024, maxRequestLineBytes: 64, maxBodyBytes: 10)
        #expect(status("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n3\r\n", limits: limits) == 413)
    }

    @Test func endlessLeadingEmptyLines_HitTheHeadLimit() {
        let limits = HTTPParserLimits(maxHeadBytes: 100, maxRequestLineBytes: 64, maxBodyBytes: 10)
        #expect(status(String(repeating: "\r\n", count: 60), limits: limits) == 431)
    }
}
