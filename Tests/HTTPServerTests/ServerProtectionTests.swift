import Foundation
import Testing
@testable import HTTPServer
#if canImport(Glibc)
import Glibc
#endif

private func gatedRouter(_ gate: Gate) -> Router {
    let router = makeTestRouter()
    router.get("/gate/{name}") { request in
        gate.pass(request.pathParameters["name"] ?? "")
        return .text("passed")
    }
    router.getWithoutBlocking("/healthz") { _ in .text("ok\n") }
    return router
}

/// The limits that keep one client, a backlog or a long pipeline from taking the server.
@Suite struct ServerProtectionTests {
    /// The cap holds across event loops: the listening one counts every connection, whichever
    /// loop it is dealt to, and the loop that closes it gives the slot back.
    /// Connections are dealt to three event loops in turn; each answers its own, keeps them
    /// alive, and the server's figures add the loops up; shutdown stops every loop.
    @Test func connectionsSpreadOverSeveralEventLoops_AreAllAnsweredAndCounted() throws {
        let server: HTTPServer = try withServer(configure: { $0.reactorThreads = 3 }) { (server, port) throws in
            var clients: [TestClient] = []
            for _ in 0..<7 {
                let client = try TestClient(port: port)
                client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(try client.readResponse().status == 200)
                clients.append(client)
            }
            for client in clients {
                client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(try client.readResponse().status == 200, "a second request on a kept-alive connection")
            }
            #expect(eventually { server.stats().openConnections == 7 })
            #expect(server.stats().acceptedConnections == 7)
            return server
        }
        // withServer has shut it down and waited: every loop stopped.
        #expect(server.stats().openConnections == 0)
    }

    @Test(arguments: [1, 3])
    func oneClientAtItsCap_DoesNotStopASecondClient(reactors: Int) throws {
        try withServer(configure: { $0.maxConnectionsPerClient = 4; $0.reactorThreads = reactors }) { (server, port) throws in
            var held: [TestClient] = []
            for _ in 0..<4 {
                let client = try TestClient(port: port, source: "127.0.0.1")
                client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(try client.readResponse().status == 200)
                held.append(client)
            }
            let fifth = try TestClient(port: port, source: "127.0.0.1")
            fifth.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            let refused = try fifth.readResponse()
            #expect(refused.status == 503)
            #expect(refused.header("Retry-After") == "1")
            #expect(fifth.isClosedByPeer())

            // Another address is a different client with its own slots.
            let other = try TestClient(port: port, source: "127.0.0.2")
            other.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try other.readResponse().status == 200)

            // Closing one of the first client's connections gives the slot back.
            held.removeLast()
            #expect(eventually { server.stats().openConnections == 4 })
            let again = try TestClient(port: port, source: "127.0.0.1")
            again.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try again.readResponse().status == 200)
            #expect(server.stats().rejectedPerClient == 1)
            _ = held.count
        }
    }

    @Test func exemptAddress_IsNotCapped() throws {
        try withServer(configure: {
            $0.maxConnectionsPerClient = 2
            $0.connectionCapExempt = { $0 == "127.0.0.3" }
        }) { (_, port) throws in
            var held: [TestClient] = []
            for _ in 0..<5 {
                let client = try TestClient(port: port, source: "127.0.0.3")
                client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(try client.readResponse().status == 200)
                held.append(client)
            }
            _ = held.count
        }
    }

    @Test func connectionPastItsLifetime_IsClosedAfterItsNextResponse() throws {
        try withServer(configure: {
            $0.maxConnectionLifetime = 0.4
            $0.keepAliveTimeout = 5
        }) { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            let first = try client.readResponse()
            #expect(first.status == 200)
            #expect(first.header("Connection") == nil)
            usleep(500_000)
            client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            let second = try client.readResponse()
            #expect(second.status == 200)
            #expect(second.header("Connection") == "close")
            #expect(client.isClosedByPeer())
        }
    }

    @Test func fullQueue_Answers503InsteadOfQueueingMore() throws {
        let gate = Gate()
        try withServer(responder: gatedRouter(gate), configure: {
            $0.workerThreads = 1
            $0.maxQueuedRequests = 1
        }) { (server, port) throws in
            defer { gate.release() }
            let running = try TestClient(port: port)
            running.send("GET /gate/a HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(gate.waitForEntries(1))
            let queued = try TestClient(port: port)
            queued.send("GET /gate/b HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(eventually { server.stats().queuedRequests == 1 })

            let refused = try TestClient(port: port)
            refused.send("GET /gate/c HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try refused.readResponse()
            #expect(response.status == 503)
            #expect(response.header("Retry-After") == "1")
            #expect(refused.isClosedByPeer())

            // The event loop's own routes still answer while the queue is full.
            #expect(try get(port, "/healthz").status == 200)

            gate.release()
            #expect(try running.readResponse().text == "passed")
            #expect(try queued.readResponse().text == "passed")
            #expect(gate.names == ["a", "b"])
            #expect(server.stats().rejectedQueueFull == 1)
        }
    }

    @Test func requestThatWaitedTooLong_Is503WithoutRunning() throws {
        let gate = Gate()
        try withServer(responder: gatedRouter(gate), configure: {
            $0.workerThreads = 1
            $0.maxQueueWait = 0.2
        }) { (server, port) throws in
            defer { gate.release() }
            let running = try TestClient(port: port)
            running.send("GET /gate/a HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(gate.waitForEntries(1))
            let waiting = try TestClient(port: port)
            waiting.send("GET /gate/late HTTP/1.1\r\nHost: t\r\n\r\n")
            usleep(400_000)
            gate.release()
            #expect(try running.readResponse().status == 200)
            let late = try waiting.readResponse()
            #expect(late.status == 503)
            #expect(late.header("Retry-After") == "1")
            #expect(late.header("Connection") == "close")
            #expect(gate.names == ["a"], "the late request never reached its handler")
            #expect(server.stats().rejectedQueueWait == 1)
        }
    }

    @Test func requestOfAClientThatHungUp_IsDroppedBeforeItRuns() throws {
        let gate = Gate()
        try withServer(responder: gatedRouter(gate), configure: { $0.workerThreads = 1 }) { (server, port) throws in
            defer { gate.release() }
            let running = try TestClient(port: port)
            running.send("GET /gate/a HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(gate.waitForEntries(1))
            do {
                let impatient = try TestClient(port: port)
                impatient.send("GET /gate/gone HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(eventually { server.stats().queuedRequests == 1 })
            }  // closed here, before a worker is free
            gate.release()
            #expect(try running.readResponse().status == 200)
            #expect(eventually { server.stats().droppedGoneClients == 1 })
            #expect(gate.names == ["a"])
            // The server goes on answering everyone else.
            #expect(try get(port, "/").status == 200)
        }
    }

    @Test func longPipelineOfEventLoopAnswers_IsAnsweredInOrderInTurns() throws {
        let router = makeTestRouter()
        router.getWithoutBlocking("/healthz") { _ in .text("ok\n") }
        try withServer(responder: router, configure: {
            $0.maxResponsesPerTurn = 8
            $0.maxRequestsPerConnection = 2000
        }) { (_, port) throws in
            let client = try TestClient(port: port)
            var pipeline = ""
            for index in 0..<600 {
                // Every 100th is a worker's route, so the pipeline switches between both paths.
                pipeline += index % 100 == 99 ? "GET /items/\(index) HTTP/1.1\r\nHost: t\r\n\r\n" : "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
            }
            #expect(client.send(pipeline))
            // Meanwhile another client is answered.
            #expect(try get(port, "/").status == 200)
            for index in 0..<600 {
                let response = try client.readResponse()
                #expect(response.text == (index % 100 == 99 ? "item \(index)" : "ok\n"), "response \(index)")
            }
            client.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            #expect(try client.readResponse().text == "hello")
        }
    }

    @Test func interimResponse_ReportsAShortWrite() throws {
        var pair: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        defer { close(pair[0]); close(pair[1]) }
        var small: Int32 = 4096
        setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        // Fill the send buffer: the peer never reads.
        let filler = [UInt8](repeating: 0x61, count: 4096)
        while let sent = Socket.sendSome(pair[0], filler, from: 0), sent == filler.count {}
        #expect(!Reactor.sendInterim(pair[0], Reactor.continueLine))
        // An empty socket takes it whole.
        var fresh: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fresh) == 0)
        defer { close(fresh[0]); close(fresh[1]) }
        #expect(Reactor.sendInterim(fresh[0], Reactor.continueLine))
    }

    @Test func openFileLimit_IsRaisedAndTheConnectionLimitFitsIt() throws {
        try withServer(configure: { $0.maxConnections = 10_000_000 }) { (server, port) throws in
            var limit = rlimit()
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            #expect(limit.rlim_cur >= min(limit.rlim_max, 1 << 20))
            #expect(eventually { server.stats().connectionLimit > 0 })
            let connectionLimit = server.stats().connectionLimit
            #expect(connectionLimit < Int(limit.rlim_cur))
            #expect(connectionLimit > 16)
            #expect(try get(port, "/").status == 200)
        }
    }

    @Test func stats_CountIdleConnectionsAndWorkers() throws {
        let gate = Gate()
        try withServer(responder: gatedRouter(gate), configure: { $0.workerThreads = 2 }) { (server, port) throws in
            defer { gate.release() }
            var idle: [TestClient] = []
            for _ in 0..<3 { idle.append(try TestClient(port: port)) }
            let busy = try TestClient(port: port)
            busy.send("GET /gate/a HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(gate.waitForEntries(1))
            #expect(eventually {
                let stats = server.stats()
                return stats.openConnections == 4 && stats.idleConnections == 3 && stats.busyWorkers == 1
            })
            #expect(server.stats().workerThreads == 2)
            gate.release()
            #expect(try busy.readResponse().status == 200)
            #expect(eventually { server.stats().busyWorkers == 0 && server.stats().acceptedConnections == 4 })
            _ = idle.count
        }
    }
}
