import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A NIO-free HTTP/1.1 server on POSIX sockets.
///
/// One reactor thread (epoll, non-blocking sockets) accepts connections, reads and parses
/// requests and enforces every deadline, so idle and slow clients cost no thread. Complete
/// requests go to a bounded pool of worker threads that run the responder (which may block)
/// and write the response in one send; the socket returns to the reactor afterwards. A
/// streamed body (`HTTPResponse.stream`) is pulled piece by piece on workers while the socket
/// takes it, and waits on the reactor, holding no thread, while the client catches up.
///
/// ```swift
/// var configuration = ServerConfiguration()
/// configuration.port = 0
/// let server = HTTPServer(configuration: configuration, responder: router, logger: logger)
/// try server.start()
/// print("listening on", server.port)
/// installShutdownSignalHandlers { server.shutdown() }
/// server.waitUntilStopped()
/// ```
public final class HTTPServer: @unchecked Sendable {
    private enum LifeCycle {
        case idle, running, stopping, stopped
    }

    private struct Job {
        let connection: Connection
        let request: HTTPRequest
        let keepAlive: Bool
        let received: Double
        /// A response already made on the event loop that still has to be streamed.
        var prepared: HTTPResponse?
        /// A streamed body to go on with once its previous piece has been sent.
        var continuing: StreamProgress?
    }

    private struct Completion {
        let connection: Connection
        let remaining: [UInt8]
        let broken: Bool
        let keepAlive: Bool
        /// A streamed body that goes on (on a worker) once `remaining` is sent.
        var stream: StreamProgress?
    }

    private let configuration: ServerConfiguration
    private let responder: HTTPResponder
    private let logger: Logger

    // Shared between threads, guarded by `lock`.
    private let lock = NSCondition()
    private var lifeCycle = LifeCycle.idle
    private var completions: [Completion] = []
    private var listenerClosed = false
    private var reactorExited = false
    private var boundPort = 0
    private var sharedDate = HTTPDateCache()
    /// The reactor's figures as of its last turn, plus the workers' own counts.
    private var published = HTTPServerStats()

    // Reactor thread only (set up in `start()` before the thread exists).
    private var epollFD: Int32 = -1
    private var wakeFD: Int32 = -1
    private var listenFD: Int32 = -1
    private var connections: [UInt64: Connection] = [:]
    private var nextID: UInt64 = 2
    private var readBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var reactorDate = HTTPDateCache()
    private var draining = false
    private var acceptPausedUntil: Double?
    private var lastAcceptErrorLog: Double = -1
    private var pool: WorkerPool<Job>!
    /// `configuration.maxConnections`, lowered to what the open-file limit allows.
    private var connectionLimit = 0
    private var connectionsPerClient: [String: Int] = [:]
    /// Connections with pipelined requests left over after their turn's share.
    private var scheduledPipelines: [Connection] = []
    private var tally = HTTPServerStats()
    private var requestIDs = RequestIDGenerator()
    private var lastGaugeCount = -Double.infinity

    private static let listenerID: UInt64 = 0
    private static let wakeID: UInt64 = 1
    private static let lingerSeconds = 2.0
    private static let lingerMaxBytes = 1 << 20
    /// Pieces of a streamed body a worker sends in one go before the connection goes to the back
    /// of the queue, so one fast download cannot keep a worker from other requests.
    private static let streamPiecesPerTurn = 32

    /// A server that will answer with `responder`; nothing happens until `start()`.
    public init(configuration: ServerConfiguration, responder: HTTPResponder, logger: Logger) {
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
    }

    /// The port the server is bound to (the chosen one when configured with port 0).
    public var port: Int {
        lock.lock()
        defer { lock.unlock() }
        return boundPort
    }

    /// Binds, listens and starts the threads, then returns. Throws
    /// `HTTPServerError.addressInUse` when the address is taken.
    public func start() throws {
        lock.lock()
        guard lifeCycle == .idle else {
            lock.unlock()
            throw HTTPServerError.alreadyStarted
        }
        lock.unlock()

        signal(SIGPIPE, SIG_IGN)
        connectionLimit = fitConnectionLimit()
        let (fd, actualPort) = try Socket.listen(host: configuration.host, port: configuration.port, backlog: 4096)
        let epoll = Epoll.create()
        guard epoll >= 0 else {
            let code = errno
            close(fd)
            throw HTTPServerError.systemCall("epoll_create1", errno: code)
        }
        let wake = Epoll.makeEventFD()
        guard wake >= 0 else {
            let code = errno
            close(fd)
            close(epoll)
            throw HTTPServerError.systemCall("eventfd", errno: code)
        }
        listenFD = fd
        epollFD = epoll
        wakeFD = wake
        register(fd: listenFD, id: Self.listenerID, events: Epoll.input)
        register(fd: wakeFD, id: Self.wakeID, events: Epoll.input)
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

        lock.lock()
        boundPort = actualPort
        lifeCycle = .running
        lock.unlock()

        pool = WorkerPool<Job> { [self] job in self.run(job) }
        pool.start(threads: configuration.workerThreads, name: "http-worker")
        let reactor = Thread { [self] in self.runReactor() }
        reactor.name = "http-reactor"
        reactor.start()
        logger.info("HTTP server listening", metadata: ["host": "\(configuration.host)", "port": "\(actualPort)"])
    }

    /// Stops accepting (new connections are refused once this returns), lets in-flight
    /// requests finish within `shutdownGracePeriod`, closes idle connections, then stops.
    /// Returns without waiting for that; see `waitUntilStopped()`.
    public func shutdown() {
        lock.lock()
        defer { lock.unlock() }
        guard lifeCycle == .running else { return }
        lifeCycle = .stopping
        wakeReactorLocked()
        while !listenerClosed && !reactorExited {
            lock.wait()
        }
    }

    /// Blocks until the server has stopped (returns at once if it never started).
    public func waitUntilStopped() {
        lock.lock()
        defer { lock.unlock() }
        while lifeCycle == .running || lifeCycle == .stopping {
            lock.wait()
        }
    }

    // MARK: - Reactor

    private func runReactor() {
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

            var finished: [Completion] = []
            lock.lock()
            swap(&finished, &completions)
            let stopRequested = lifeCycle == .stopping
            lock.unlock()
            now = Socket.monotonicNow()
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
        finishReactor()
    }

    private func handle(id: UInt64, events: UInt32, now: Double) {
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

    private func acceptConnections(now: Double) {
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
            if connections.count >= connectionLimit {
                tally.rejectedConnections += 1
                rejectOverCapacity(fd, reason: "connection limit reached; answering 503", limit: connectionLimit)
                continue
            }
            let remote = Socket.addressAndPort(&storage)
            let capped = configuration.maxConnectionsPerClient > 0 && !configuration.connectionCapExempt(remote.address)
            if capped && connectionsPerClient[remote.address, default: 0] >= configuration.maxConnectionsPerClient {
                tally.rejectedPerClient += 1
                rejectOverCapacity(fd, reason: "a client reached its connection cap; answering 503", limit: configuration.maxConnectionsPerClient,
                                   client: remote.address)
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let id = nextID
            nextID += 1
            let connection = Connection(
                id: id, fd: fd, remoteAddress: "\(remote.address):\(remote.port)", clientAddress: remote.address, acceptedAt: now,
                limits: configuration.parserLimits, deadline: now + configuration.headTimeout)
            if capped {
                connectionsPerClient[remote.address, default: 0] += 1
                connection.countedForClient = true
            }
            tally.acceptedConnections += 1
            connections[id] = connection
            register(fd: fd, id: id, events: Epoll.input)
            connection.registeredEvents = Epoll.input
        }
    }

    private func rejectOverCapacity(_ fd: Int32, reason: Logger.Message, limit: Int, client: String? = nil) {
        // Read what already arrived so closing does not turn into a reset that hides the 503.
        var scratch = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<4 where recv(fd, &scratch, scratch.count, Int32(MSG_DONTWAIT)) > 0 {}
        let bytes = ResponseSerializer.plain(status: 503, date: reactorDate.current(), retryAfter: 1)
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

    /// Raises the open-file limit to its hard limit and lowers the connection limit to fit it,
    /// leaving room for database connections, files and the listener.
    private func fitConnectionLimit() -> Int {
        let limits = FileLimit.raiseToHardLimit()
        if let raised = limits.raisedFrom {
            logger.info("raised the open-file limit", metadata: ["from": "\(raised)", "to": "\(limits.current)"])
        }
        let reserve = 128 + configuration.workerThreads * 2
        let fitting = max(16, limits.current - reserve)
        guard configuration.maxConnections > fitting else { return configuration.maxConnections }
        logger.warning("connection limit lowered to fit the open-file limit; raise `ulimit -n` for more", metadata: [
            "configured": "\(configuration.maxConnections)", "limit": "\(fitting)", "open_files": "\(limits.current)",
        ])
        return fitting
    }

    private func readRequest(_ connection: Connection, now: Double) {
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
    private func dispatchNext(_ connection: Connection, now: Double) {
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
                var job = Job(connection: connection, request: request, keepAlive: keepAlive, received: now)
                guard let response = responder.respondWithoutBlocking(to: request) else {
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
                let completion = deliver(response, for: job)
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

    /// Gzips a text-like body of `compressionMinBytes` or more for a client that accepts it.
    /// Such a response says `Vary: Accept-Encoding` either way, so a cache never hands the
    /// gzip form to a client that did not ask for it. A strong `ETag` becomes weak: the bytes
    /// differ from the identity form's, the content does not.
    private func compressIfWorthIt(_ response: inout HTTPResponse, for request: HTTPRequest) {
        guard response.stream == nil, response.status != 204, response.status != 304, response.status >= 200,
              response.body.count >= configuration.compressionMinBytes, response.headers["Content-Encoding"] == nil,
              Gzip.isCompressible(contentType: response.headers["Content-Type"]) else { return }
        if !response.headers.tokens("Vary").contains(where: { $0.lowercased() == "accept-encoding" }) {
            response.headers.add("Vary", "Accept-Encoding")
        }
        guard request.method != "HEAD", Gzip.isAccepted(by: request),
              let compressed = Gzip.compress(response.body, level: Int32(configuration.compressionLevel)),
              compressed.count < response.body.count else { return }
        response.body = compressed
        response.headers.set("Content-Encoding", "gzip")
        if let etag = response.headers["ETag"], etag.hasPrefix("\"") { response.headers.set("ETag", "W/" + etag) }
    }

    /// A trusted proxy's well-formed `X-Request-Id`, or a new id.
    private func requestID(for request: HTTPRequest, from connection: Connection) -> String {
        if let given = request.headers["X-Request-Id"], RequestIDGenerator.isWellFormed(given),
           configuration.requestIDTrusted(connection.clientAddress) {
            return given
        }
        return requestIDs.next()
    }

    /// Copies the reactor's figures where `stats()` reads them.
    private func publishStats(now: Double) {
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
        tally.connectionLimit = connectionLimit
        lock.lock()
        published.mergeReactor(tally)
        lock.unlock()
    }

    /// The server's figures now: connections, queue, workers and refusals.
    public func stats() -> HTTPServerStats {
        lock.lock()
        var stats = published
        lock.unlock()
        if let pool {
            stats.queuedRequests = pool.queued
            stats.busyWorkers = pool.busy
        }
        stats.workerThreads = configuration.workerThreads
        return stats
    }

    private func runScheduledPipelines(now: Double) {
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
    private func submit(_ job: Job, now: Double) {
        let connection = job.connection
        if pool.queued >= configuration.maxQueuedRequests {
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
        pool.submit(job)
    }

    private func complete(_ completion: Completion, now: Double) {
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
    private func continueStream(_ connection: Connection, _ stream: StreamProgress) {
        connection.phase = .processing
        disarm(connection)
        pool.submit(Job(connection: connection, request: stream.request, keepAlive: stream.keepAlive, received: stream.received,
                        continuing: stream))
    }

    private func responseFinished(_ connection: Connection, keepAlive: Bool, now: Double) {
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
    private func setBodyDeadline(_ connection: Connection, now: Double) {
        if connection.bodyDeadline == .infinity { connection.bodyDeadline = now + configuration.bodyTimeout }
        connection.deadline = min(now + configuration.bodyIdleTimeout, connection.bodyDeadline)
        connection.headDeadlineSet = false
    }

    private func sendAndClose(_ connection: Connection, status: Int, now: Double, retryAfter: Int? = nil) {
        let bytes = ResponseSerializer.plain(status: status, date: reactorDate.current(), retryAfter: retryAfter)
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

    private func writePending(_ connection: Connection, now: Double) {
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

    private func linger(_ connection: Connection, now: Double) {
        Glibc.shutdown(connection.fd, Int32(SHUT_WR))
        connection.phase = .lingering
        connection.deadline = now + Self.lingerSeconds
        arm(connection, writable: false)
    }

    private func discardInput(_ connection: Connection, now: Double) {
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

    private func sweep(now: Double) {
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

    private func beginDraining(now: Double) {
        draining = true
        if listenFD >= 0 {
            _ = Epoll.delete(epollFD, listenFD)
            close(listenFD)
            listenFD = -1
        }
        lock.lock()
        listenerClosed = true
        lock.broadcast()
        lock.unlock()
        for connection in Array(connections.values) where connection.phase == .reading && !connection.parser.hasPartialRequest {
            closeConnection(connection)
        }
        for connection in Array(connections.values) where connection.phase == .lingering {
            connection.deadline = min(connection.deadline, now + 0.5)
        }
        logger.info("HTTP server shutting down", metadata: ["open_connections": "\(connections.count)"])
    }

    private func finishReactor() {
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
        for job in pool.stop() {
            close(job.connection.fd)
        }
        lock.lock()
        reactorExited = true
        let unprocessed = completions
        completions.removeAll()
        lifeCycle = .stopped
        listenerClosed = true
        lock.broadcast()
        lock.unlock()
        for completion in unprocessed {
            close(completion.connection.fd)
        }
        if listenFD >= 0 { close(listenFD) }
        listenFD = -1
        close(wakeFD)
        close(epollFD)
        readBuffer.deallocate()
        logger.info("HTTP server stopped")
    }

    private func closeConnection(_ connection: Connection) {
        guard connections.removeValue(forKey: connection.id) != nil else { return }
        if connection.countedForClient {
            connection.countedForClient = false
            let left = connectionsPerClient[connection.clientAddress, default: 1] - 1
            connectionsPerClient[connection.clientAddress] = left > 0 ? left : nil
        }
        connection.stream = nil
        connection.scheduled = false
        close(connection.fd)
    }

    private func register(fd: Int32, id: UInt64, events: UInt32) {
        _ = Epoll.add(epollFD, fd, events: events, data: id)
    }

    private func modify(fd: Int32, id: UInt64, events: UInt32) {
        _ = Epoll.modify(epollFD, fd, events: events, data: id)
    }

    /// Level-triggered interest in reading or writing; unchanged interest costs no syscall.
    private func arm(_ connection: Connection, writable: Bool) {
        let events = writable ? Epoll.output : Epoll.input
        guard connection.registeredEvents != events else { return }
        modify(fd: connection.fd, id: connection.id, events: events)
        connection.registeredEvents = events
    }

    /// Stops events for a connection a worker holds. One-shot with no interest: a hang-up is
    /// reported at most once instead of on every loop while the worker runs.
    private func disarm(_ connection: Connection) {
        guard connection.registeredEvents != Epoll.oneShot else { return }
        modify(fd: connection.fd, id: connection.id, events: Epoll.oneShot)
        connection.registeredEvents = Epoll.oneShot
    }

    /// Must hold `lock`: `wakeFD` is closed under it once the reactor exits.
    private func wakeReactorLocked() {
        guard !reactorExited else { return }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: - Workers

    private func run(_ job: Job) {
        let completion: Completion
        if let stream = job.continuing {
            completion = pump(stream, on: job.connection)
        } else if let prepared = job.prepared {
            completion = deliver(prepared, for: job)
        } else if let refusal = refusal(of: job) {
            completion = refusal
        } else {
            let request = job.request
            let response: HTTPResponse
            do {
                response = try responder.respond(to: request)
            } catch {
                logger.error("handler failed", metadata: [
                    "method": "\(request.method)", "path": "\(request.rawPath)", "error": "\(error)",
                ])
                response = .text("Internal Server Error\n", status: 500)
            }
            completion = deliver(response, for: job)
        }
        lock.lock()
        if reactorExited {
            lock.unlock()
            close(job.connection.fd)
            return
        }
        let wasEmpty = completions.isEmpty
        completions.append(completion)
        if wasEmpty { wakeReactorLocked() }
        lock.unlock()
    }

    /// Why a queued request should not run: its client has hung up (nothing to answer), or it
    /// waited past `maxQueueWait` (503, so the client can retry elsewhere).
    private func refusal(of job: Job) -> Completion? {
        if Socket.peerHasGone(job.connection.fd) {
            lock.lock()
            published.droppedGoneClients += 1
            lock.unlock()
            logger.info("client gone before its request ran; dropped", metadata: [
                "method": "\(job.request.method)", "path": "\(job.request.rawPath)", "remote": "\(job.request.remoteAddress)",
            ])
            return Completion(connection: job.connection, remaining: [], broken: true, keepAlive: false)
        }
        let waited = Socket.monotonicNow() - job.received
        guard waited > configuration.maxQueueWait else { return nil }
        lock.lock()
        published.rejectedQueueWait += 1
        lock.unlock()
        logger.warning("request waited too long for a worker; answering 503", metadata: [
            "method": "\(job.request.method)", "path": "\(job.request.rawPath)", "waited_s": "\((waited * 10).rounded() / 10)",
        ])
        var response = HTTPResponse.text("The server is too busy to answer now; try again shortly.\n", status: 503)
        response.headers.set("Retry-After", "1")
        response.headers.set("Connection", "close")
        return deliver(response, for: job)
    }

    /// Serialises and sends `response` in one `send`, logs it, and says what the reactor must do
    /// next with the connection. Runs on a worker, or on the reactor for non-blocking answers.
    private func deliver(_ response: HTTPResponse, for job: Job) -> Completion {
        let request = job.request
        var response = response
        lock.lock()
        let date = sharedDate.current()
        // A response finishing after shutdown() began tells the client not to reuse the connection.
        // A handler may also ask for the connection to be closed after its response.
        var keepAlive = job.keepAlive && lifeCycle == .running && !response.headers.tokens("Connection").contains("close")
        lock.unlock()
        let headOnly = request.method == "HEAD"
        if !request.requestID.isEmpty { response.headers.set("X-Request-Id", request.requestID) }
        if configuration.compressionLevel > 0 { compressIfWorthIt(&response, for: request) }
        // An HTTP/1.0 client cannot read chunks: the close is what ends a streamed body.
        if ResponseSerializer.isStreamed(response) && !headOnly && request.version == .http10 { keepAlive = false }
        var bytes: [UInt8]
        do {
            bytes = try ResponseSerializer.serialize(response, headOnly: headOnly, keepAlive: keepAlive,
                                                     requestVersion: request.version, date: date)
        } catch {
            logger.error("handler produced an invalid response", metadata: [
                "method": "\(request.method)", "path": "\(request.rawPath)", "error": "\(error)",
            ])
            response = .text("Internal Server Error\n", status: 500)
            bytes = (try? ResponseSerializer.serialize(response, headOnly: headOnly, keepAlive: keepAlive,
                                                       requestVersion: request.version, date: date)) ?? []
        }
        if let stream = response.stream, ResponseSerializer.isStreamed(response), !headOnly {
            return startStream(stream, head: bytes, status: response.status, keepAlive: keepAlive, route: response.route,
                               actor: response.actor, for: job)
        }
        let sent = Socket.sendSome(job.connection.fd, bytes, from: 0)
        if logger.logLevel <= .info {
            let milliseconds = ((Socket.monotonicNow() - job.received) * 1000 * 100).rounded() / 100
            // The raw path: it cannot hold CR, LF or other control characters, so a request
            // cannot forge log lines.
            logger.info("\(request.method) \(request.rawPath) \(response.status) \(response.body.count)B \(milliseconds)ms",
                        metadata: accessMetadata(request, status: response.status, bytes: response.body.count, milliseconds: milliseconds,
                                                 route: response.route, actor: response.actor))
        }
        if let sent {
            return Completion(connection: job.connection, remaining: sent < bytes.count ? Array(bytes[sent...]) : [],
                              broken: false, keepAlive: keepAlive)
        }
        return Completion(connection: job.connection, remaining: [], broken: true, keepAlive: false)
    }

    // MARK: - Streamed bodies (workers)

    /// Sends the head with the first piece of a streamed body, then goes on while the socket
    /// takes the pieces at once. The first piece is read before anything is sent, so a stream
    /// that fails at once still gets an honest 500.
    private func startStream(_ stream: BodyStream, head: [UInt8], status: Int, keepAlive: Bool, route: String?, actor: String?,
                             for job: Job) -> Completion {
        let request = job.request
        let progress = StreamProgress(stream: stream, request: request, status: status, keepAlive: keepAlive,
                                      chunked: request.version != .http10, received: job.received)
        progress.route = route
        progress.actor = actor
        let first: [UInt8]?
        do {
            first = try progress.nextPiece()
        } catch {
            logger.error("streamed response failed before its first byte", metadata: [
                "method": "\(request.method)", "path": "\(request.rawPath)", "error": "\(error)",
            ])
            return deliver(.text("Internal Server Error\n", status: 500), for: job)
        }
        guard let first else { return finishStream(progress, on: job.connection, after: head) }
        progress.bodyBytes += first.count
        return send(progress.frame(first, after: head), of: progress, on: job.connection)
    }

    /// Pulls and sends pieces until the body ends, the socket is full (the rest waits on the
    /// reactor) or this turn's share is used (the connection queues again behind others).
    private func pump(_ progress: StreamProgress, on connection: Connection) -> Completion {
        for _ in 0..<Self.streamPiecesPerTurn {
            let piece: [UInt8]?
            do {
                piece = try progress.nextPiece()
            } catch {
                // No last chunk: the client sees a truncated body, never a complete-looking one.
                logger.error("streamed response failed; closing without its last chunk", metadata: [
                    "method": "\(progress.request.method)", "path": "\(progress.request.rawPath)", "error": "\(error)",
                    "bytes": "\(progress.bodyBytes)",
                ])
                return Completion(connection: connection, remaining: [], broken: false, keepAlive: false)
            }
            guard let piece else { return finishStream(progress, on: connection) }
            progress.bodyBytes += piece.count
            let completion = send(progress.frame(piece), of: progress, on: connection)
            if completion.broken || !completion.remaining.isEmpty { return completion }
        }
        return Completion(connection: connection, remaining: [], broken: false, keepAlive: progress.keepAlive, stream: progress)
    }

    /// Sends what the socket takes of `bytes`; the rest, and the stream, go to the reactor.
    private func send(_ bytes: [UInt8], of progress: StreamProgress, on connection: Connection) -> Completion {
        guard let sent = Socket.sendSome(connection.fd, bytes, from: 0) else {
            logger.info("streamed response ended early: the client closed the connection", metadata: [
                "path": "\(progress.request.rawPath)", "remote": "\(progress.request.remoteAddress)", "bytes": "\(progress.bodyBytes)",
            ])
            return Completion(connection: connection, remaining: [], broken: true, keepAlive: false)
        }
        if sent < bytes.count {
            return Completion(connection: connection, remaining: Array(bytes[sent...]), broken: false, keepAlive: progress.keepAlive,
                              stream: progress)
        }
        return Completion(connection: connection, remaining: [], broken: false, keepAlive: progress.keepAlive, stream: progress)
    }

    /// Sends the last chunk (after `prefix`, the head of an empty body) and logs the response.
    private func finishStream(_ progress: StreamProgress, on connection: Connection, after prefix: [UInt8] = []) -> Completion {
        let request = progress.request
        if logger.logLevel <= .info {
            let milliseconds = ((Socket.monotonicNow() - progress.received) * 1000 * 100).rounded() / 100
            logger.info("\(request.method) \(request.rawPath) \(progress.status) \(progress.bodyBytes)B \(milliseconds)ms streamed",
                        metadata: accessMetadata(request, status: progress.status, bytes: progress.bodyBytes, milliseconds: milliseconds,
                                                 route: progress.route, actor: progress.actor))
        }
        let bytes = prefix + progress.terminator
        guard let sent = Socket.sendSome(connection.fd, bytes, from: 0) else {
            return Completion(connection: connection, remaining: [], broken: true, keepAlive: false)
        }
        return Completion(connection: connection, remaining: sent < bytes.count ? Array(bytes[sent...]) : [], broken: false,
                          keepAlive: progress.keepAlive)
    }

    /// The fields of an access log line. `actor` is the app's (a user name it checked), the rest
    /// the server's; the path is the raw one, which cannot hold control characters.
    private func accessMetadata(_ request: HTTPRequest, status: Int, bytes: Int, milliseconds: Double,
                                route: String?, actor: String?) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "method": "\(request.method)", "path": "\(request.rawPath)", "status": "\(status)",
            "bytes": "\(bytes)", "duration_ms": "\(milliseconds)", "remote": "\(request.remoteAddress)",
        ]
        if !request.requestID.isEmpty { metadata["request_id"] = "\(request.requestID)" }
        if let route { metadata["route"] = "\(route)" }
        if let actor { metadata["actor"] = "\(actor)" }
        return metadata
    }
}

/// Request ids: a random per-process prefix and a counter (`5f0c2a91d3e4b7a8-000000000001f`), so ids
/// are unique across replicas and cost no random bytes per request.
struct RequestIDGenerator {
    private let prefix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
    private var counter: UInt64 = 0

    mutating func next() -> String {
        counter += 1
        let number = String(counter, radix: 16)
        return prefix + "-" + String(repeating: "0", count: max(0, 12 - number.utf8.count)) + number
    }

    /// 1–128 characters of letters, digits and `-_.:`: safe in a header, a log line and a page.
    static func isWellFormed(_ text: String) -> Bool {
        let bytes = text.utf8
        return !bytes.isEmpty && bytes.count <= 128 && bytes.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
        }
    }
}
