import Foundation
import Testing
@testable import HTTPServer
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ServerLimitsTests {
    @Test func headOf17KiB_Is431AndCloses() throws {
        try withServer { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + String(repeating: "a", count: 17 * 1024) + "\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 431)
            #expect(response.header("Connection") == "close")
            #expect(client.isClosedByPeer())
        }
    }

    @Test func requestLineOf9KiB_Is414AndCloses() throws {
        try withServer { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("GET /" + String(repeating: "a", count: 9 * 1024) + " HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 414)
            #expect(response.header("Connection") == "close")
            #expect(client.isClosedByPeer())
        }
    }

    @Test func contentLengthOverMax_Is413BeforeTheBodyIsSent() throws {
        var handlerCalls = 0
        let responder = ClosureResponder { _ in handlerCalls += 1; return .text("no") }
        try withServer(responder: responder, configure: { $0.maxBodyBytes = 1000 }) { (_, port) throws in
            let client = try TestClient(port: port)
            // Only the head is sent: the answer must come without waiting for any body byte.
            client.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 413)
            #expect(response.header("Connection") == "close")
            #expect(client.isClosedByPeer())
        }
        #expect(handlerCalls == 0)
    }

    @Test func headDeadline_Answers408AndCloses() throws {
        try withServer(configure: { $0.headTimeout = 0.5 }) { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("GET / HTTP/1.1\r\nHost: t\r\n")
            let response = try client.readResponse()
            #expect(response.status == 408)
            #expect(response.header("Connection") == "close")
            #expect(client.isClosedByPeer())
        }
    }

    @Test func bodyIdleDeadline_Answers408AndCloses() throws {
        try withServer(configure: { $0.bodyIdleTimeout = 0.5 }) { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
            let response = try client.readResponse()
            #expect(response.status == 408)
            #expect(client.isClosedByPeer())
        }
    }

    @Test func bodyDrippedInsideTheIdleTimeout_StillEndsAtTheBodyDeadline() throws {
        try withServer(configure: { $0.bodyIdleTimeout = 1; $0.bodyTimeout = 1.5 }) { (_, port) throws in
            let client = try TestClient(port: port)
            let started = Date()
            client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n")
            // One byte every 0.4 s never trips the 1 s idle timeout; the 1.5 s body deadline ends it.
            let dripper = Thread {
                for _ in 0..<20 {
                    Thread.sleep(forTimeInterval: 0.4)
                    if !client.send("x") { return }
                }
            }
            dripper.start()
            let response = try client.readResponse()
            #expect(response.status == 408)
            let elapsed = Date().timeIntervalSince(started)
            #expect(elapsed >= 1.4 && elapsed < 4, "ended at the whole-body deadline, after \(elapsed) s")
        }
    }

    @Test func keepAliveIdle_ClosesQuietly() throws {
        try withServer(configure: { $0.keepAliveTimeout = 0.3 }) { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            // Nothing more is sent: the server closes without a response.
            #expect(client.readToEnd().isEmpty)
        }
    }

    @Test func maxRequestsPerConnection_LastResponseSaysClose() throws {
        try withServer(configure: { $0.maxRequestsPerConnection = 3 }) { (_, port) throws in
            let client = try TestClient(port: port)
            client.send(String(repeating: "GET / HTTP/1.1\r\nHost: t\r\n\r\n", count: 4))
            #expect(try client.readResponse().header("Connection") == nil)
            #expect(try client.readResponse().header("Connection") == nil)
            let third = try client.readResponse()
            #expect(third.status == 200)
            #expect(third.header("Connection") == "close")
            #expect(client.isClosedByPeer())
        }
    }

    @Test func overMaxConnections_Gets503() throws {
        try withServer(configure: { $0.maxConnections = 3 }) { (_, port) throws in
            var held: [TestClient] = []
            for _ in 0..<3 {
                let client = try TestClient(port: port)
                client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(try client.readResponse().status == 200)
                held.append(client)
            }
            let extra = try TestClient(port: port)
            let response = try extra.readResponse()
            #expect(response.status == 503)
            #expect(response.header("Connection") == "close")
            #expect(extra.isClosedByPeer())
            // Once one is gone, a new connection is served again.
            held.removeFirst()
            var served = false
            for _ in 0..<50 where !served {
                let again = try TestClient(port: port)
                again.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                served = (try? again.readResponse().status) == 200
                if !served { usleep(20_000) }
            }
            #expect(served)
        }
    }

    @Test(arguments: [
        ("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400),
        ("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +4\r\n\r\nabcd", 400),
        ("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0x4\r\n\r\nabcd", 400),
        ("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400),
        ("GET / HTTP/1.1\nHost: t\n\n", 400),
        ("GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\u{0}b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHo(st: t\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
        ("GET /  HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ])
    func smugglingAttempt_IsRejectedAndClosed(raw: String, expected: Int) throws {
        try withServer { (_, port) throws in
            let client = try TestClient(port: port)
            client.send(raw)
            let response = try client.readResponse()
            #expect(response.status == expected)
            #expect(response.header("Connection") == "close")
            #expect(client.isClosedByPeer())
        }
    }

    @Test func smuggledSecondRequest_IsNeverServed() throws {
        // If the CL/TE conflict were resolved either way, "GET /items/smuggled" would be answered.
        try withServer { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /items/smuggled HTTP/1.1\r\nHost: t\r\n\r\n")
            let all = String(decoding: client.readToEnd(), as: UTF8.self)
            #expect(all.hasPrefix("HTTP/1.1 400 "))
            #expect(!all.contains("smuggled"))
        }
    }

    @Test func requestsBeforeAMalformedOne_AreStillAnswered() throws {
        try withServer { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("GET /items/1 HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\nHost: t\n\n")
            #expect(try client.readResponse().text == "item 1")
            #expect(try client.readResponse().status == 400)
            #expect(client.isClosedByPeer())
        }
    }

    @Test func garbageInput_NeverCrashesTheServer() throws {
        try withServer(configure: { $0.headTimeout = 1 }) { (_, port) throws in
            var generator = SeededGenerator(seed: 7)
            for _ in 0..<30 {
                let client = try TestClient(port: port, timeout: 2)
                let length = Int.random(in: 1...600, using: &generator)
                client.send((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
                client.send("\r\n\r\n")
                _ = client.readToEnd()
            }
            #expect(try get(port, "/").status == 200)
        }
    }
}
