import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// One event loop of an `HTTPServer`: an epoll set, the connections it owns for their whole
/// life, and the thread that reads, parses, answers cheap requests inline and writes what the
/// workers hand back. The first reactor also owns the listening socket and deals the sockets it
/// accepts to all reactors in turn, so connections spread evenly and each is touched by one
/// event-loop thread only. Workers return a finished request to the reactor that owns it.
final class Reactor {
    /// A socket the listening reactor accepted for this one.
    struct Arrival {
        let fd: Int32
        let remoteAddress: String
        let clientAddress: String
        let countedForClient: Bool
        let acceptedAt: Double
    }

    unowned let server: HTTPServer
    let index: Int
    private var configuration: ServerConfiguration { server.configuration }
    private var logger: Logger { server.logger }

    // Shared with workers and the listening reactor, guarded by `lock`.
    let lock = NSLock()
    private var completions: [HTTPServer.Completion] = []
    private var arrivals: [Arrival] = []
    private var exited = false
    /// This reactor's figures as of its last turn, for `HTTPServer.stats()`.
    private var published = HTTPServerStats()

    // This reactor's thread only.
    let epollFD: Int32
    let wakeFD: Int32
    var listenFD: Int32
    private var connections: [UInt64: Connection] = [:]
    private var nextID: UInt64 = 2
    private var readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    private var date = HTTPDateCache()
    private var draining = false
    private var acceptPausedUntil: Double?
    private var lastAcceptErrorLog: Double = -1
    /// Connections with pipelined requests left over after their turn's share.
    private var scheduledPipelines: [Connection] = []
    private var tally = HTTPServerStats()
    private var requestIDs = RequestIDGenerator()
    private var lastGaugeCount = -Double.infinity
    /// The reactor the next accepted socket goes to (listening reactor only).
    private var nextTarget = 0

    static let listenerID: UInt64 = 0
    static let wakeID: UInt64 = 1
    private static let lingerSeconds = 2.0
    private static let lingerMaxBytes = 1 << 20

    init(server: HTTPServer, index: Int, epollFD: Int32, wakeFD: Int32, listenFD: Int32) {
        self.server = server
        self.index = index
        self.epollFD = epollFD
        self.wakeFD = wakeFD
        self.listenFD = listenFD
        register(fd: wakeFD, id: Self.wakeID, events: Epoll.input)
        if listenFD >= 0 { register(fd: listenFD, id: Self.listenerID, events: Epoll.input) }
    }

    /// Posts a worker's finished request; false when this reactor has stopped (the caller
    /// closes the socket).
    func post(_ completion: HTTPServer.Completion) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if exited { return false }
        enqueueLocked { $0.completions.append(completion) }
        return true
    }

    /// Adds to an inbox, waking the loop only when both were empty (a wake already pending
    /// covers the rest). Must hold `lock`.
    private func enqueueLocked(_ add: (Reactor) -> Void) {
        let wasEmpty = completions.isEmpty && arrivals.isEmpty
        add(self)
        if wasEmpty { wakeLocked() }
    }

    /// Wakes the loop so it sees a stop request.
    func wake() {
        lock.lock()
        wakeLocked()
        lock.unlock()
    }

    /// This reactor's figures as of its last turn.
    var stats: HTTPServerStats {
        lock.lock()
        defer { lock.unlock() }
        return published
    }


    func run() {
        let maxEvents = 256
        let events = Epoll.allocateEvents(capacity: maxEvents)
        defer { Epoll.freeEvents(events) }
        var lastSweep = Socket.monotonicNow()
        var graceDeadline = Double.infinity

        while true {
            let count = Epoll.wait(epollFD, events, capacity: maxEvents, timeoutMilliseconds: scheduledPipelines.isEmpty ? 50 : 0)
            var now = Socket.monotonicNow()
            if count > 0 {
                for index in 0..<Int(count) {
                    let event = Epoll.event(in: events, at: index)
                    handle(id: event.data, events: event.events, now: now)
                }
            }

            var finished: [HTTPServer.Completion] = []
            var arrived: [Arrival] = []
            lock.lock()
            swap(&finished, &completions)
            swap(&arrived, &arrivals)
            lock.unlock()
            let stopRequested = server.stopRequested
            now = Socket.monotonicNow()
            for arrival in arrived {
                adopt(arrival, now: now)
            }
            for completion in finished {
                complete(completion, now: now)
            }
            runScheduledPipelines(now: now)
            publishStats(now: now)

            if stopRequested && !draining {
                beginDraining(now: now)
                graceDeadline = now + configuration.shutdownGracePeriod
            }
            if now - lastSweep >= 0.05 || draining {
                sweep(now: now)
                lastSweep = now
            }
            if draining && (connections.isEmpty || now >= graceDeadline) {
                break
            }
        }
        finish()
    }

    func handle(id: UInt64, events: UInt32, now: Double) {
        switch id {
        case Self.listenerID:
            acceptConnections(now: now)
        case Self.wakeID:
            var value: UInt64 = 0
            _ = read(wakeFD, &value, 8)
        default:
            guard let connection = connections[id] else { return }
            switch connection.phase {
            case .reading: readRequest(connection, now: now)
            case .writing: writePending(connection, now: now)
            case .lingering: discardInput(connection, now: now)
            case .processing: break
            }
        }
    }

    func acceptConnections(now: Double) {
        guard listenFD >= 0 else { return }
        for _ in 0..<1024 {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Epoll.accept(listenFD, $0, &length)
                }
            }
            if fd < 0 {
                let code = errno
                switch code {
                case EAGAIN, EWOULDBLOCK:
                    return
                case EINTR, ECONNABORTED, EPROTO:
                    continue
                default:
                    // EMFILE, ENFILE, ENOBUFS, ENOMEM...: stop accepting for a moment instead of
                    // spinning on the readable listener or giving up.
                    if now - lastAcceptErrorLog >= 1 {
                        lastAcceptErrorLog = now
                        logger.warning("accept failed; pausing accepts briefly", metadata: ["error": "\(String(cString: strerror(code)))"])
                    }
                    modify(fd: listenFD, id: Self.listenerID, events: 0)
                    acceptPausedUntil = now + 0.1
                    return
                }
            }
            let remote = Socket.addressAndPort(&storage)
            let capped = configuration.maxConnectionsPerClient > 0 && !configuration.connectionCapExempt(remote.address)
            switch server.admit(client: remote.address, capped: capped) {
            case .overLimit:
                tally.rejectedConnections += 1
                rejectOverCapacity(fd, reason: "connection limit reached; answering 503", limit: server.connectionLimit)
                continue
            case .overClientCap:
                tally.rejectedPerClient += 1
                rejectOverCapacity(fd, reason: "a client reached its connection cap; answering 503", limit: configuration.maxConnectionsPerClient,
                                   client: remote.address)
                continue
            case .admitted:
                break
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            tally.acceptedConnections += 1
            let arrival = Arrival(fd: fd, remoteAddress: "\(remote.address):\(remote.port)", clientAddress: remote.address,
                                  countedForClient: capped, acceptedAt: now)
            // Round robin: each reactor owns the connections it is given for their whole life.
            let target = server.reactors[nextTarget]
            nextTarget = (nextTarget + 1) % server.reactors.count
            if target === self {
                adopt(arrival, now: now)
            } else {
                target.hand(arrival)
            }
        }
    }

    /// Takes a connection accepted by the listening reactor (on another thread): it is adopted
    /// on this reactor's next turn, or closed if this reactor has already stopped.
    func hand(_ arrival: Arrival) {
        lock.lock()
        if exited {
            lock.unlock()
            close(arrival.fd)
            server.release(client: arrival.clientAddress, counted: arrival.countedForClient)
            return
        }
        enqueueLocked { $0.arrivals.append(arrival) }
        lock.unlock()
    }

    func adopt(_ arrival: Arrival, now: Double) {
        let id = nextID
        nextID += 1
        let connection = Connection(
            id: id, fd: arrival.fd, remoteAddress: arrival.remoteAddress, clientAddress: arrival.clientAddress, acceptedAt: arrival.acceptedAt,
            limits: configuration.parserLimits, deadline: arrival.acceptedAt + configuration.headTimeout)
        connection.countedForClient = arrival.countedForClient
        connection.reactor = self
        connections[id] = connection
        register(fd: arrival.fd, id: id, events: Epoll.input)
        connection.registeredEvents = Epoll.input
        if draining { closeConnection(connection) }
    }

    func rejectOverCapacity(_ fd: Int32, reason: Logger.Message, limit: Int, client: String? = nil) {
        // Read what already arrived so closing does not turn into a reset that hides the 503.
        var scratch = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<4 where recv(fd, &scratch, scratch.count, Int32(MSG_DONTWAIT)) > 0 {}
        let bytes = ResponseSerializer.plain(status: 503, date: date.current(), retryAfter: 1)
        _ = Socket.sendSome(fd, bytes, from: 0)
        Glibc.shutdown(fd, Int32(SHUT_WR))
        close(fd)
        if Socket.monotonicNow() - lastAcceptErrorLog >= 1 {
            lastAcceptErrorLog = Socket.monotonicNow()
            var metadata: Logger.Metadata = ["limit": "\(limit)"]
            if let client { metadata["client"] = "\(client)" }
            logger.warning(reason, metadata: metadata)
        }
    }

    func readRequest(_ connection: Connection, now: Double) {
        let n = recv(connection.fd, readBuffer.baseAddress, readBuffer.count, 0)
        if n > 0 {
            let events = connection.parser.feed(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]))
            for event in events {
                switch event {
                case .request(var request):
                    request.remoteAddress = connection.remoteAddress
                    connection.enqueue(.request(request))
                case .failure(let error):
                    connection.enqueue(.failure(error))
                case .expectContinue:
                    // Only when nothing is queued before it, so responses stay in order.
                    if !connection.hasItems && !Self.sendInterim(connection.fd, Self.continueLine) {
                        // Half an interim response would corrupt the stream the client reads.
                        closeConnection(connection)
                        return
                    }
                }
            }
        } else if n == 0 {
            connection.peerClosed = true
        } else {
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK || code == EINTR {
                arm(connection, writable: false)
            } else {
                closeConnection(connection)
            }
            return
        }

        if connection.hasItems {
            dispatchNext(connection, now: now)
            return
        }
        if connection.peerClosed {
            closeConnection(connection)
            return
        }
        if connection.parser.isReadingBody {
            setBodyDeadline(connection, now: now)
        } else {
            connection.bodyDeadline = .infinity
            if connection.parser.hasPartialRequest && !connection.headDeadlineSet {
                connection.deadline = now + configuration.headTimeout
                connection.headDeadlineSet = true
            }
        }
        arm(connection, writable: false)
    }

    static let continueLine = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Sends an interim response whole or reports that it could not: on a fresh socket a
    /// 25-byte write only falls short when the client has stopped reading.
    static func sendInterim(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        Socket.sendSome(fd, bytes, from: 0) == bytes.count
    }

    /// Answers the connection's queued requests in order. Never-blocking answers are written
    /// here, in a loop (not by recursion) and at most `maxResponsesPerTurn` of them before the
    /// connection waits for the next turn; the first blocking one goes to a worker.
    func dispatchNext(_ connection: Connection, now: Double) {
        var answered = 0
        while let item = connection.nextItem() {
            switch item {
            case .failure(let error):
                logger.info("rejected request: \(error.status) \(error.reason)", metadata: [
                    "status": "\(error.status)", "remote": "\(connection.remoteAddress)", "reason": "\(error.reason)",
                ])
                connection.discardItems()
                sendAndClose(connection, status: error.status, now: now)
                return
            case .request(var request):
                request.requestID = requestID(for: request, from: connection)
                connection.requestCount += 1
                let keepAlive = request.wantsKeepAlive
                    && connection.requestCount < configuration.maxRequestsPerConnection
                    && now - connection.acceptedAt < configuration.maxConnectionLifetime
                    && !draining
                    && !(connection.peerClosed && !connection.hasItems)
                connection.phase = .processing
                var job = HTTPServer.Job(connection: connection, request: request, keepAlive: keepAlive, received: now)
                guard let response = server.responder.respondWithoutBlocking(to: request) else {
                    submit(job, now: now)
                    return
                }
                if response.stream != nil {
                    // Reading a stream may block: that is a worker's job.
                    job.prepared = response
                    submit(job, now: now)
                    return
                }
                // Cheap, never-blocking answers skip the worker hand-off (two thread wake-ups).
                let completion = server.deliver(response, for: job, onLoop: (date.current(), !draining && !server.stopRequested))
                answered += 1
                guard completion.keepAlive, !completion.broken, completion.remaining.isEmpty, completion.stream == nil,
                      connection.hasItems else {
                    complete(completion, now: Socket.monotonicNow())
                    return
                }
                connection.phase = .reading
                if answered >= configuration.maxResponsesPerTurn {
                    // The rest waits a turn, so one pipeline cannot keep the loop from others.
                    disarm(connection)
                    connection.phase = .processing
                    connection.scheduled = true
                    scheduledPipelines.append(connection)
                    return
                }
            }
        }
    }

    /// A trusted proxy's well-formed `X-Request-Id`, or a new id.
    func requestID(for request: HTTPRequest, from connection: Connection) -> String {
        if let given = request.headers["X-Request-Id"], RequestIDGenerator.isWellFormed(given),
           configuration.requestIDTrusted(connection.clientAddress) {
            return given
        }
        return requestIDs.next()
    }

    /// Copies the reactor's figures where `stats()` reads them.
    func publishStats(now: Double) {
        var open = 0, idle = 0, reading = 0, writing = 0
        // The gauges walk every connection: at most every 10 ms, not on each of the tens of
        // thousands of turns a second a busy loop makes. Counters are copied every turn.
        if now - lastGaugeCount >= 0.01 {
            lastGaugeCount = now
            for connection in connections.values {
                open += 1
                switch connection.phase {
                case .reading: if connection.parser.hasPartialRequest { reading += 1 } else { idle += 1 }
                case .writing, .lingering: writing += 1
                case .processing: break
                }
            }
            tally.openConnections = open
            tally.idleConnections = idle
            tally.readingConnections = reading
            tally.writingConnections = writing
        }
        tally.turns += 1
        tally.connectionLimit = server.connectionLimit
        lock.lock()
        published = tally
        lock.unlock()
    }

    func runScheduledPipelines(now: Double) {
        guard !scheduledPipelines.isEmpty else { return }
        let waiting = scheduledPipelines
        scheduledPipelines.removeAll(keepingCapacity: true)
        for connection in waiting where connection.scheduled {
            connection.scheduled = false
            guard connections[connection.id] != nil else { continue }
            connection.phase = .reading
            dispatchNext(connection, now: now)
        }
    }

    /// Hands a request to the workers, or answers 503 when too many already wait for one.
    func submit(_ job: HTTPServer.Job, now: Double) {
        let connection = job.connection
        if server.pool.queued >= configuration.maxQueuedRequests {
            tally.rejectedQueueFull += 1
            if now - lastAcceptErrorLog >= 1 {
                lastAcceptErrorLog = now
                logger.warning("request queue full; answering 503", metadata: ["limit": "\(configuration.maxQueuedRequests)"])
            }
            connection.discardItems()
            connection.phase = .reading
            sendAndClose(connection, status: 503, now: now, retryAfter: 1)
            return
        }
        disarm(connection)
        server.pool.submit(job)
    }

    func complete(_ completion: HTTPServer.Completion, now: Double) {
        let connection = completion.connection
        // Connections are only removed (and closed) by the reactor while no worker holds them.
        guard connections[connection.id] != nil else { return }
        if completion.broken {
            closeConnection(connection)
        } else if !completion.remaining.isEmpty {
            connection.phase = .writing
            connection.output = completion.remaining
            connection.outputOffset = 0
            connection.closeAfterOutput = !completion.keepAlive
            connection.stream = completion.stream
            connection.deadline = now + configuration.bodyIdleTimeout
            arm(connection, writable: true)
        } else if let stream = completion.stream {
            continueStream(connection, stream)
        } else {
            responseFinished(connection, keepAlive: completion.keepAlive, now: now)
        }
    }

    /// Hands a streamed body whose last piece is out back to a worker for its next piece.
    func continueStream(_ connection: Connection, _ stream: StreamProgress) {
        connection.phase = .processing
        disarm(connection)
        server.pool.submit(HTTPServer.Job(connection: connection, request: stream.request, keepAlive: stream.keepAlive, received: stream.received,
                        continuing: stream))
    }

    func responseFinished(_ connection: Connection, keepAlive: Bool, now: Double) {
        guard keepAlive else {
            connection.discardItems()
            linger(connection, now: now)
            return
        }
        if connection.hasItems {
            dispatchNext(connection, now: now)
            return
        }
        if connection.peerClosed || (draining && !connection.parser.hasPartialRequest) {
            closeConnection(connection)
            return
        }
        connection.phase = .reading
        if connection.parser.isReadingBody {
            setBodyDeadline(connection, now: now)
            arm(connection, writable: false)
            return
        }
        connection.bodyDeadline = .infinity
        if connection.parser.hasPartialRequest {
            connection.deadline = now + configuration.headTimeout
            connection.headDeadlineSet = true
        } else {
            connection.deadline = now + configuration.keepAliveTimeout
            connection.headDeadlineSet = false
        }
        arm(connection, writable: false)
    }

    /// While a body is read: the idle gap, capped by the whole-body deadline set at its start.
    func setBodyDeadline(_ connection: Connection, now: Double) {
        if connection.bodyDeadline == .infinity { connection.bodyDeadline = now + configuration.bodyTimeout }
        connection.deadline = min(now + configuration.bodyIdleTimeout, connection.bodyDeadline)
        connection.headDeadlineSet = false
    }

    func sendAndClose(_ connection: Connection, status: Int, now: Double, retryAfter: Int? = nil) {
        let bytes = ResponseSerializer.plain(status: status, date: date.current(), retryAfter: retryAfter)
        guard let sent = Socket.sendSome(connection.fd, bytes, from: 0) else {
            closeConnection(connection)
            return
        }
        if sent == bytes.count {
            linger(connection, now: now)
        } else {
            connection.phase = .writing
            connection.output = bytes
            connection.outputOffset = sent
            connection.closeAfterOutput = true
            connection.deadline = now + configuration.bodyIdleTimeout
            arm(connection, writable: true)
        }
    }

    func writePending(_ connection: Connection, now: Double) {
        guard let sent = Socket.sendSome(connection.fd, connection.output, from: connection.outputOffset) else {
            closeConnection(connection)
            return
        }
        connection.outputOffset += sent
        if connection.outputOffset < connection.output.count {
            if sent > 0 { connection.deadline = now + configuration.bodyIdleTimeout }
            arm(connection, writable: true)
            return
        }
        connection.output = []
        connection.outputOffset = 0
        if let stream = connection.stream {
            connection.stream = nil
            continueStream(connection, stream)
        } else if connection.closeAfterOutput {
            linger(connection, now: now)
        } else {
            responseFinished(connection, keepAlive: true, now: now)
        }
    }

    func linger(_ connection: Connection, now: Double) {
        Glibc.shutdown(connection.fd, Int32(SHUT_WR))
        connection.phase = .lingering
        connection.deadline = now + Self.lingerSeconds
        arm(connection, writable: false)
    }

    func discardInput(_ connection: Connection, now: Double) {
        let n = recv(connection.fd, readBuffer.baseAddress, readBuffer.count, 0)
        if n > 0 {
            connection.lingerBytes += n
            if connection.lingerBytes > Self.lingerMaxBytes {
                closeConnection(connection)
            } else {
                arm(connection, writable: false)
            }
        } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            arm(connection, writable: false)
        } else {
            closeConnection(connection)
        }
    }

    func sweep(now: Double) {
        if let pausedUntil = acceptPausedUntil, now >= pausedUntil, listenFD >= 0 {
            acceptPausedUntil = nil
            modify(fd: listenFD, id: Self.listenerID, events: Epoll.input)
        }
        var expired: [Connection] = []
        for connection in connections.values where connection.phase != .processing && connection.deadline <= now {
            expired.append(connection)
        }
        for connection in expired {
            switch connection.phase {
            case .reading:
                if connection.parser.hasPartialRequest {
                    logger.info("request timed out: 408", metadata: [
                        "status": "408", "remote": "\(connection.remoteAddress)",
                        "reason": "\(connection.parser.isReadingBody ? (now >= connection.bodyDeadline ? "body timeout" : "body idle timeout") : "head timeout")",
                    ])
                    sendAndClose(connection, status: 408, now: now)
                } else {
                    closeConnection(connection)
                }
            case .writing, .lingering:
                if let stream = connection.stream {
                    logger.info("streamed response stalled; closed without its last chunk", metadata: [
                        "path": "\(stream.request.rawPath)", "remote": "\(connection.remoteAddress)", "bytes": "\(stream.bodyBytes)",
                    ])
                }
                closeConnection(connection)
            case .processing:
                break
            }
        }
    }

    func beginDraining(now: Double) {
        draining = true
        if listenFD >= 0 {
            _ = Epoll.delete(epollFD, listenFD)
            close(listenFD)
            listenFD = -1
            server.listenerDidClose()
        }
        for connection in Array(connections.values) where connection.phase == .reading && !connection.parser.hasPartialRequest {
            closeConnection(connection)
        }
        for connection in Array(connections.values) where connection.phase == .lingering {
            connection.deadline = min(connection.deadline, now + 0.5)
        }
        logger.info("HTTP server shutting down", metadata: ["open_connections": "\(connections.count)"])
    }

    func finish() {
        // Past the grace period: connections still with a worker are shut down (the worker's
        // write fails fast) and closed by that worker once it returns.
        for connection in connections.values {
            if connection.phase == .processing {
                Glibc.shutdown(connection.fd, Int32(SHUT_RDWR))
            } else {
                close(connection.fd)
            }
        }
        connections.removeAll()
        lock.lock()
        exited = true
        // A stopped loop holds no connections; its counters stay.
        published = tally
        published.openConnections = 0
        published.idleConnections = 0
        published.readingConnections = 0
        published.writingConnections = 0
        let unprocessed = completions
        let unadopted = arrivals
        completions.removeAll()
        arrivals.removeAll()
        close(wakeFD)
        lock.unlock()
        for completion in unprocessed {
            close(completion.connection.fd)
        }
        for arrival in unadopted {
            close(arrival.fd)
        }
        if listenFD >= 0 {
            close(listenFD)
            listenFD = -1
            server.listenerDidClose()
        }
        close(epollFD)
        readBuffer.deallocate()
        server.reactorDidExit()
    }

    func closeConnection(_ connection: Connection) {
        guard connections.removeValue(forKey: connection.id) != nil else { return }
        server.release(client: connection.clientAddress, counted: connection.countedForClient)
        connection.countedForClient = false
        connection.stream = nil
        connection.scheduled = false
        close(connection.fd)
    }

    func register(fd: Int32, id: UInt64, events: UInt32) {
        _ = Epoll.add(epollFD, fd, events: events, data: id)
    }

    func modify(fd: Int32, id: UInt64, events: UInt32) {
        _ = Epoll.modify(epollFD, fd, events: events, data: id)
    }

    /// Level-triggered interest in reading or writing; unchanged interest costs no syscall.
    func arm(_ connection: Connection, writable: Bool) {
        let events = writable ? Epoll.output : Epoll.input
        guard connection.registeredEvents != events else { return }
        modify(fd: connection.fd, id: connection.id, events: events)
        connection.registeredEvents = events
    }

    /// Stops events for a connection a worker holds. One-shot with no interest: a hang-up is
    /// reported at most once instead of on every loop while the worker runs.
    func disarm(_ connection: Connection) {
        guard connection.registeredEvents != Epoll.oneShot else { return }
        modify(fd: connection.fd, id: connection.id, events: Epoll.oneShot)
        connection.registeredEvents = Epoll.oneShot
    }

    /// Must hold `lock`: `wakeFD` is closed under it once the reactor exits.
    func wakeLocked() {
        guard !exited else { return }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }
}
