import Testing
@testable import HTTPServer

@Suite struct HTTPHeadersTests {
    @Test func lookup_IgnoresCaseAndReturnsFirstValue() {
        let headers = HTTPHeaders([("Set-Cookie", "a=1"), ("Content-Type", "text/html"), ("set-cookie", "b=2")])
        #expect(headers["content-type"] == "text/html")
        #expect(headers["SET-COOKIE"] == "a=1")
        #expect(headers.values("Set-Cookie") == ["a=1", "b=2"])
        #expect(headers["missing"] == nil)
    }

    @Test func addSetRemove_KeepOrder() {
        var headers = HTTPHeaders()
        headers.add("A", "1")
        headers.add("B", "2")
        headers.add("a", "3")
        headers.set("A", "4")
        #expect(headers.map { "\($0.name)=\($0.value)" } == ["B=2", "A=4"])
        headers.remove("b")
        #expect(headers.map(\.name) == ["A"])
        #expect(headers.count == 1)
    }

    @Test func tokens_SplitCommaListsAcrossFields() {
        let headers = HTTPHeaders([("Connection", "Keep-Alive, Upgrade"), ("connection", " close ,")])
        #expect(headers.tokens("Connection") == ["keep-alive", "upgrade", "close"])
    }
}

@Suite struct QueryParametersTests {
    @Test func parsing_DecodesPlusAndPercentOnce() {
        let q = QueryParameters(parsing: "q=lfm+7b&status=active&status=paused&x=%252e&e=%C3%A9&flag&=v&&")
        #expect(q["q"] == "lfm 7b")
        #expect(q.all("status") == ["active", "paused"])
        #expect(q["x"] == "%2e")
        #expect(q["e"] == "é")
        #expect(q["flag"] == "")
        #expect(q[""] == "v")
        #expect(q.pairs.count == 7)
    }

    @Test func malformedEscapes_AreKeptLiterally() {
        let q = QueryParameters(parsing: "a=%&b=%2&c=%zz&d=100%&e=%%41&f=%C3")
        #expect(q["a"] == "%")
        #expect(q["b"] == "%2")
        #expect(q["c"] == "%zz")
        #expect(q["d"] == "100%")
        #expect(q["e"] == "%A")
        #expect(q["f"] == "\u{FFFD}")
    }

    @Test func encode_RoundTripsThroughParsing() {
        let pairs = [("q", "a&b c=d"), ("status", "active"), ("status", "paused"), ("name", "é/?#+%")]
        let encoded = QueryParameters.encode(pairs)
        #expect(encoded == "q=a%26b%20c%3Dd&status=active&status=paused&name=%C3%A9%2F%3F%23%2B%25")
        let decoded = QueryParameters(parsing: encoded)
        #expect(decoded.pairs.map { "\($0.name)=\($0.value)" } == pairs.map { "\($0.0)=\($0.1)" })
    }

    @Test func arbitraryBytes_NeverCrash() {
        var g = SeededGenerator(seed: 42)
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0...40, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            let q = QueryParameters(parsing: String(decoding: bytes, as: UTF8.self))
            _ = QueryParameters.encode(q.pairs.map { ($0.name, $0.value) })
        }
    }
}

@Suite struct HTTPRequestTests {
    @Test func init_DerivesPathAndQueryFromTarget() {
        var request = HTTPRequest(method: "GET", target: "/a%20b?x=1&x=2", headers: HTTPHeaders([("Host", "h")]), body: [])
        #expect(request.path == "/a b")
        #expect(request.rawPath == "/a%20b")
        #expect(request.queryString == "x=1&x=2")
        #expect(request.query.all("x") == ["1", "2"])
        request.target = "/other"
        #expect(request.path == "/other")
        #expect(request.query.isEmpty)
    }

    @Test func formParameters_OnlyForUrlencodedBodies() {
        let form = HTTPRequest(method: "POST", target: "/", headers: HTTPHeaders([("Content-Type", "Application/X-WWW-Form-Urlencoded")]), body: Array("a=1+2".utf8))
        #expect(form.formParameters["a"] == "1 2")
        let other = HTTPRequest(method: "POST", target: "/", headers: HTTPHeaders([("Content-Type", "text/plain")]), body: Array("a=1".utf8))
        #expect(other.formParameters.isEmpty)
    }

    @Test func responseFactories_SetContentTypes() {
        #expect(HTTPResponse.text("x").headers["Content-Type"] == "text/plain; charset=utf-8")
        #expect(HTTPResponse.html("x", status: 201).status == 201)
        #expect(HTTPResponse.html("x").headers["Content-Type"] == "text/html; charset=utf-8")
        #expect(HTTPResponse.json(Array("{}".utf8)).headers["Content-Type"] == "application/json")
        #expect(HTTPResponse.redirect(to: "/x").status == 303)
        #expect(HTTPResponse.redirect(to: "/x", status: 302).headers["Location"] == "/x")
    }

    @Test func dateHeader_IsIMFFixdate() {
        #expect(HTTPDateCache.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDateCache.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }
}

@Suite struct RouterTests {
    private func request(_ method: String, _ target: String) -> HTTPRequest {
        HTTPRequest(method: method, target: target, headers: HTTPHeaders([("Host", "h")]))
    }

    private func body(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    @Test func pathParameters_AreDecodedPerSegment() throws {
        let router = Router()
        router.add("POST", "/training/jobs/{id}/start") { r in .text("start \(r.pathParameters["id"]!)") }
        router.get("/files/{name}") { r in .text(r.pathParameters["name"]!) }
        #expect(body(try router.respond(to: request("POST", "/training/jobs/42/start"))) == "start 42")
        #expect(body(try router.respond(to: request("GET", "/files/a%2Fb%20c"))) == "a/b c")
        #expect(try router.respond(to: request("GET", "/files/")).status == 404)
        #expect(try router.respond(to: request("GET", "/files/a/b")).status == 404)
    }

    @Test func head_UsesGetHandlerUnlessHeadIsRouted() throws {
        let router = Router()
        router.get("/a") { _ in .text("get") }
        router.get("/b") { _ in .text("get") }
        router.add("HEAD", "/b") { _ in .text("head") }
        #expect(body(try router.respond(to: request("HEAD", "/a"))) == "get")
        #expect(body(try router.respond(to: request("HEAD", "/b"))) == "head")
    }

    @Test func otherMethods_Give405WithAllowAndCustomPages() throws {
        let router = Router()
        router.get("/x") { _ in .text("x") }
        router.add("DELETE", "/x") { _ in .text("deleted") }
        let response = try router.respond(to: request("PUT", "/x"))
        #expect(response.status == 405)
        #expect(response.headers["Allow"] == "GET, DELETE, HEAD")
        router.methodNotAllowed = { _, allowed in .html("<p>\(allowed.count)</p>", status: 405) }
        router.notFound = { _ in .html("<p>missing</p>", status: 404) }
        #expect(body(try router.respond(to: request("PUT", "/x"))) == "<p>3</p>")
        #expect(body(try router.respond(to: request("GET", "/nothing"))) == "<p>missing</p>")
    }

    @Test func mounts_UseLongestPrefixAfterRoutes() throws {
        final class Named: HTTPResponder {
            let name: String
            init(_ name: String) { self.name = name }
            func respond(to request: HTTPRequest) throws -> HTTPResponse { .text(name) }
        }
        let router = Router()
        router.mount(prefix: "/static/", Named("static"))
        router.mount(prefix: "/static/img/", Named("img"))
        router.get("/static/special") { _ in .text("route") }
        #expect(body(try router.respond(to: request("GET", "/static/a.css"))) == "static")
        #expect(body(try router.respond(to: request("GET", "/static/img/a.png"))) == "img")
        #expect(body(try router.respond(to: request("GET", "/static/special"))) == "route")
        #expect(try router.respond(to: request("GET", "/staticx")).status == 404)
    }

    @Test func handlerErrors_Propagate() {
        let router = Router()
        router.get("/") { _ in throw Boom() }
        #expect(throws: Boom.self) { try router.respond(to: request("GET", "/")) }
    }
}

@Suite struct FormDecodingTests {
    func formRequest(_ body: String) -> HTTPRequest {
        HTTPRequest(method: "POST", target: "/f", headers: HTTPHeaders([("Content-Type", "application/x-www-form-urlencoded")]),
                    body: Array(body.utf8))
    }

    @Test func aFormIsDecodedOnceAndAgainOnlyForANewBody() {
        var request = formRequest("a=1&b=2")
        #expect(!request.formIsDecoded)
        #expect(request.formParameters["a"] == "1")
        #expect(request.formIsDecoded)
        // Copies (the router adds path parameters to one) share the decoded form.
        var routed = request
        routed.pathParameters = ["id": "7"]
        #expect(routed.formIsDecoded && routed.formParameters["b"] == "2")
        request.body = Array("a=3".utf8)
        #expect(!request.formIsDecoded)
        #expect(request.formParameters["a"] == "3" && request.formParameters["b"] == nil)
        request.headers = HTTPHeaders([("Content-Type", "text/plain")])
        #expect(request.formParameters.isEmpty)
    }

    @Test func aLargeFormIsKeptDecodedAcrossReads() {
        let request = formRequest(String(repeating: "a&", count: 262_144))
        #expect(request.formParameters.pairs.count == 262_144)
        #expect(request.formIsDecoded)
        // Later reads take the decoded pairs; nothing is split again.
        for _ in 0..<4 { #expect(request.formParameters.pairs.count == 262_144) }
    }
}
