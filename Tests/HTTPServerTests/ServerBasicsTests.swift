import Foundation
import Logging
import Testing
@testable import HTTPServer
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ServerBasicsTests {
    @Test func helloRoute_Returns200WithHeaders() throws {
        try withServer { (_, port) throws in
            let response = try get(port, "/")
            #expect(response.status == 200)
            #expect(response.text == "hello")
            #expect(response.header("Content-Length") == "5")
            #expect(response.header("Content-Type") == "text/plain; charset=utf-8")
            #expect(response.header("Date")?.hasSuffix(" GMT") == true)
            #expect(response.header("Connection") == nil)
        }
    }

    @Test func keepAlive_ServesSeveralRequestsOnOneConnection() throws {
        try withServer { (_, port) throws in
            let client = try TestClient(port: port)
            for i in 0..<5 {
                client.send("GET /items/\(i) HTTP/1.1\r\nHost: t\r\n\r\n")
                let response = try client.readResponse()
                #expect(response.text == "item \(i)")
            }
        }
    }

    @Test func pipelinedRequests_AreAnsweredInOrder() throws {
        try withServer { (_, port) throws in
            let client = try TestClient(port: port)
            var batch = ""
            for i in 0..<20 {
                // A slow one first: later answers must still wait for it.
                batch += i == 0 ? "GET /sleep?ms=100 HTTP/1.1\r\nHost: t\r\n\r\n" : "GET /items/\(i) HTTP/1.1\r\nHost: t\r\n\r\n"
            }
            batch += "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nping"
            client.send(batch)
            #expect(try client.readResponse().text == "slept")
            for i in 1..<20 {
                #expect(try client.readResponse().text == "item \(i)")
            }
            #expect(try client.readResponse().text == "ping")
        }
    }

    @Test func http10_ClosesUnlessKeepAliveRequested() throws {
        try withServer { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("GET / HTTP/1.0\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("Connection") == "close")
            #expect(client.isClosedByPeer())

            let keep = try TestClient(port: port)
            keep.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(try keep.readResponse().header("Connection") == "keep-alive")
            keep.send("GET /items/2 HTTP/1.0\r\n\r\n")
            #expect(try keep.readResponse().text == "item 2")
        }
    }

    @Test func connectionClose_IsHonoured() throws {
        try withServer { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            #expect(try client.readResponse().header("Connection") == "close")
            #expect(client.isClosedByPeer())
        }
    }

    @Test func head_ReturnsGetHeadersWithoutBody() throws {
        try withServer { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("HEAD /items/7 HTTP/1.1\r\nHost: t\r\n\r\n")
            let head = try client.readResponse(headRequest: true)
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "6")
            // The next response starts right after the head: no body bytes were sent.
            client.send("GET /items/8 HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().text == "item 8")
        }
    }

    @Test func unknownPath_Returns404() throws {
        try withServer { (_, port) throws in
            #expect(try get(port, "/nope").status == 404)
            #expect(try get(port, "/items/1/extra").status == 404)
        }
    }

    @Test func wrongMethod_Returns405WithAllow() throws {
        try withServer { (_, port) throws in
            let response = try fetch(port, "DELETE /items/3 HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(response.status == 405)
            #expect(response.header("Allow") == "GET, POST, HEAD")
            let post = try fetch(port, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
            #expect(post.status == 405)
            #expect(post.header("Allow") == "GET, HEAD")
        }
    }

    @Test func queryWithRepeatedKeys_KeepsOrder() throws {
        try withServer { (_, port) throws in
            let response = try get(port, "/query?k=1&other=x&k=two+words&k=%C3%A9&k=100%25")
            #expect(response.text == "1|two words|é|100%")
        }
    }

    @Test func urlencodedFormBody_IsParsed() throws {
        try withServer { (_, port) throws in
            let body = "name=LFM+7B&tags=a&tags=b%26c&empty="
            let response = try fetch(port, "POST /form HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            #expect(response.text == "name=LFM 7B|tags=a|tags=b&c|empty=")
            let json = try fetch(port, "POST /form HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\na=1&b=2")
            #expect(json.text == "")
        }
    }

    @Test func chunkedRequestBody_ReachesTheHandler() throws {
        try withServer { (_, port) throws in
            let response = try fetch(port, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n")
            #expect(response.text == "Wikipedia")
        }
    }

    @Test func expectContinue_GetsInterimResponseThenFinalOne() throws {
        try withServer { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
            client.setTimeout(2)
            var interim = [UInt8](repeating: 0, count: 25)
            let n = recv(client.fd, &interim, 25, Int32(MSG_WAITALL))
            #expect(String(decoding: interim[0..<max(0, n)], as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
            client.send("hi")
            #expect(try client.readResponse().text == "hi")
        }
    }

    @Test func throwingHandler_Returns500WithoutErrorText() throws {
        let store = RecordingLogHandler.Store()
        let logger = Logger(label: "test") { _ in RecordingLogHandler(store: store) }
        try withServer(logger: logger) { (_, port) throws in
            let response = try get(port, "/throw")
            #expect(response.status == 500)
            #expect(!response.text.contains("hunter2"))
            #expect(!response.text.contains("Boom"))
        }
        #expect(store.all.contains { $0.level == .error && "\($0.metadata["error"] ?? "")".contains("hunter2") })
    }

    @Test func headerValueWithCRLF_BecomesA500AndNothingIsInjected() throws {
        try withServer { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("GET /inject HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 500)
            #expect(response.header("Set-Cookie") == nil)
            #expect(response.header("X-Note") == nil)
            // The connection is still usable and in sync.
            client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().text == "hello")
        }
    }

    @Test func serializer_RefusesControlCharactersAndBadNames() {
        let date = "Mon, 01 Jan 2024 00:00:00 GMT"
        for bad in ["a\rb", "a\nb", "a\u{0}b"] {
            var response = HTTPResponse.text("x")
            response.headers.add("X-A", bad)
            #expect(throws: InvalidResponseError.self) {
                try ResponseSerializer.serialize(response, headOnly: false, keepAlive: true, requestVersion: .http11, date: date)
            }
        }
        var badName = HTTPResponse.text("x")
        badName.headers.add("X A", "v")
        #expect(throws: InvalidResponseError.self) {
            try ResponseSerializer.serialize(badName, headOnly: false, keepAlive: true, requestVersion: .http11, date: date)
        }
    }

    @Test func serializer_OwnsFramingHeaders() throws {
        var response = HTTPResponse.text("four")
        response.headers.add("Content-Length", "999")
        response.headers.add("Transfer-Encoding", "chunked")
        let bytes = try ResponseSerializer.serialize(response, headOnly: false, keepAlive: false, requestVersion: .http11, date: "D")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text == "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 4\r\nConnection: close\r\n\r\nfour")
        let notModified = try ResponseSerializer.serialize(HTTPResponse(status: 304), headOnly: false, keepAlive: true, requestVersion: .http11, date: "D")
        #expect(String(decoding: notModified, as: UTF8.self) == "HTTP/1.1 304 Not Modified\r\nDate: D\r\n\r\n")
    }

    @Test func redirect_Is303WithLocation() throws {
        let router = Router()
        router.post("/jobs") { _ in .redirect(to: "/jobs/1") }
        try withServer(responder: router) { (_, port) throws in
            let response = try fetch(port, "POST /jobs HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
            #expect(response.status == 303)
            #expect(response.header("Location") == "/jobs/1")
            #expect(response.header("Content-Length") == "0")
        }
    }

    @Test func accessLog_HasOneInfoLinePerRequestWithMetadata() throws {
        let store = RecordingLogHandler.Store()
        let logger = Logger(label: "test") { _ in RecordingLogHandler(store: store) }
        try withServer(logger: logger) { (_, port) throws in
            _ = try get(port, "/items/5?x=1")
        }
        let lines = store.all.filter { $0.metadata["path"] == "/items/5" }
        #expect(lines.count == 1)
        let line = lines.first
        #expect(line?.level == .info)
        #expect(line?.metadata["method"] == "GET")
        #expect(line?.metadata["status"] == "200")
        #expect(line?.metadata["bytes"] == "6")
        #expect(line?.metadata["duration_ms"] != nil)
    }

    @Test func startOnTakenPort_ThrowsAddressInUse() throws {
        try withServer { (_, port) throws in
            var configuration = ServerConfiguration()
            configuration.port = port
            let second = HTTPServer(configuration: configuration, responder: makeTestRouter(), logger: quietLogger())
            #expect {
                try second.start()
            } throws: { error in
                guard case HTTPServerError.addressInUse = error else { return false }
                return "\(error)".contains("address already in use")
            }
        }
    }

    @Test func waitUntilStopped_ReturnsAtOnceWhenNeverStarted() {
        let server = HTTPServer(configuration: ServerConfiguration(), responder: makeTestRouter(), logger: quietLogger())
        server.waitUntilStopped()
        server.shutdown()
    }
}

@Suite struct HandlerConnectionControlTests {
    @Test func handlerAskingForClose_ClosesAfterItsResponse() throws {
        let router = Router()
        router.get("/bye") { _ in
            var response = HTTPResponse.text("bye")
            response.headers.set("Connection", "close")
            return response
        }
        try withServer(responder: router) { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("GET /bye HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.headerValues("Connection") == ["close"])
            #expect(client.isClosedByPeer())
        }
    }
}
