import Foundation
import Testing
@testable import HTTPServer
#if canImport(Glibc)
import Glibc
#endif

/// A thread-safe flag a test can wait on.
private final class Signal: @unchecked Sendable {
    private let condition = NSCondition()
    private var raised = false

    func raise() {
        condition.lock()
        raised = true
        condition.broadcast()
        condition.unlock()
    }

    var isRaised: Bool {
        condition.lock()
        defer { condition.unlock() }
        return raised
    }

    func wait(seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let limit = Date(timeIntervalSinceNow: seconds)
        while !raised {
            if !condition.wait(until: limit) { return raised }
        }
        return true
    }
}

@Suite struct ServerResilienceTests {
    @Test func idleAndSlowlorisConnections_DoNotStarveANormalClient() throws {
        raiseFileLimit()
        try withServer(configure: {
            $0.headTimeout = 3
            $0.keepAliveTimeout = 10
            $0.maxConnections = 4096
        }) { (_, port) throws in
            // 1,200 connections from 240 loopback addresses, 5 each: many clients, each well
            // under the per-client cap.
            func address(_ index: Int) -> String { "127.0.\(1 + index % 240 / 200).\(2 + index % 200)" }
            var idle: [TestClient] = []
            for index in 0..<1000 {
                idle.append(try TestClient(port: port, source: address(index)))
            }
            let slowHead = Array("GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ".utf8) + Array(repeating: UInt8(ascii: "z"), count: 200)
            var slow: [TestClient] = []
            for index in 0..<200 {
                let client = try TestClient(port: port, source: address(index + 1000))
                client.send([slowHead[0]])
                slow.append(client)
            }
            let slowStart = Date()

            // Drip one more header byte to every slow connection each 0.5 s, for 4 s: past
            // the 3 s head deadline, which counts from their first byte. A connection that has
            // been answered is read at once and dripped to no more, as a real client would: a
            // byte sent after the server closed draws a reset that can discard the unread 408.
            var answers: [TestResponse?] = Array(repeating: nil, count: slow.count)
            var answered = Array(repeating: false, count: slow.count)
            func collectAnswers() {
                for (index, client) in slow.enumerated() where !answered[index] && client.hasDataWaiting() {
                    answered[index] = true
                    answers[index] = try? client.readResponse()
                }
            }
            var sentBytes = 1
            var fastestNormal = Double.infinity
            var slowestNormal = 0.0
            for round in 1...8 {
                usleep(500_000)
                collectAnswers()
                for (index, client) in slow.enumerated() where !answered[index] {
                    client.send([slowHead[sentBytes]])
                }
                sentBytes += 1
                if round <= 4 {
                    // While all 1,200 connections are open, a normal client is served quickly.
                    let started = Date()
                    let response = try get(port, "/")
                    let elapsed = Date().timeIntervalSince(started)
                    #expect(response.status == 200)
                    fastestNormal = min(fastestNormal, elapsed)
                    slowestNormal = max(slowestNormal, elapsed)
                }
            }
            #expect(slowestNormal < 1.0, "normal request took \(slowestNormal) s")
            #expect(Date().timeIntervalSince(slowStart) < 6)

            // Every slow connection was answered 408 and closed at its head deadline.
            // (Their write side is shut right after the 408, so each read returns at once.)
            var closedWith408 = 0
            for (index, client) in slow.enumerated() {
                client.setTimeout(3)
                if !answered[index] { answers[index] = try? client.readResponse() }
                if let response = answers[index], response.status == 408, client.isClosedByPeer() {
                    closedWith408 += 1
                }
            }
            #expect(closedWith408 == 200)
            _ = idle.count
        }
    }

    @Test func shutdown_FinishesInFlightRequestAndRefusesNewConnections() throws {
        let started = Signal()
        let finished = Signal()
        let router = Router()
        router.get("/slow") { _ in
            started.raise()
            usleep(800_000)
            finished.raise()
            return .text("done")
        }
        router.get("/") { _ in .text("hello") }
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.workerThreads = 2
        configuration.shutdownGracePeriod = 5
        let server = HTTPServer(configuration: configuration, responder: router, logger: quietLogger())
        try server.start()
        let port = server.port

        let idle = try TestClient(port: port)
        idle.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try idle.readResponse().status == 200)

        let inFlight = try TestClient(port: port)
        inFlight.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(started.wait(seconds: 5))

        server.shutdown()
        #expect(throws: TestFailure.self) { _ = try TestClient(port: port) }

        let response = try inFlight.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "done")
        #expect(response.header("Connection") == "close")
        #expect(idle.readToEnd().isEmpty)

        server.waitUntilStopped()
        #expect(finished.isRaised)
    }

    @Test func shutdown_GivesUpOnHandlersOutlastingTheGracePeriod() throws {
        let started = Signal()
        let finished = Signal()
        let router = Router()
        router.get("/stuck") { _ in
            started.raise()
            usleep(2_500_000)
            finished.raise()
            return .text("late")
        }
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.workerThreads = 1
        configuration.shutdownGracePeriod = 0.3
        let server = HTTPServer(configuration: configuration, responder: router, logger: quietLogger())
        try server.start()

        let client = try TestClient(port: server.port)
        client.send("GET /stuck HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(started.wait(seconds: 5))
        server.shutdown()
        server.waitUntilStopped()
        #expect(!finished.isRaised)
        #expect(client.readToEnd().isEmpty)
    }

    @Test func shutdown_IsIdempotent() throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        let server = HTTPServer(configuration: configuration, responder: makeTestRouter(), logger: quietLogger())
        try server.start()
        server.shutdown()
        server.shutdown()
        server.waitUntilStopped()
        server.waitUntilStopped()
        #expect(throws: HTTPServerError.self) { try server.start() }
    }

    @Test func manyConcurrentClients_AreAllServed() throws {
        try withServer(configure: { $0.workerThreads = 4 }) { (_, port) throws in
            let failures = Signal()
            let group = DispatchGroup()
            for t in 0..<8 {
                group.enter()
                Thread {
                    defer { group.leave() }
                    do {
                        let client = try TestClient(port: port)
                        for i in 0..<100 {
                            client.send("GET /items/\(t)-\(i) HTTP/1.1\r\nHost: t\r\n\r\n")
                            if try client.readResponse().text != "item \(t)-\(i)" { failures.raise() }
                        }
                    } catch {
                        failures.raise()
                    }
                }.start()
            }
            group.wait()
            #expect(!failures.isRaised)
        }
    }

    @Test func largeResponse_IsDeliveredToASlowReader() throws {
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 8 << 20)
        let router = Router()
        router.get("/big") { _ in HTTPResponse(status: 200, body: big) }
        router.get("/") { _ in .text("hello") }
        try withServer(responder: router) { (_, port) throws in
            let client = try TestClient(port: port, timeout: 10)
            client.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n")
            usleep(200_000) // let the socket buffers fill so the reactor has to finish the write
            let response = try client.readResponse()
            #expect(response.body.count == big.count)
            #expect(try client.readResponse().text == "hello")
        }
    }
}
