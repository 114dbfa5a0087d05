import Foundation
import Logging
import RunSlots
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A NIO-free HTTP/1.1 server on POSIX sockets.
///
/// Reactor threads (epoll, non-blocking sockets; one per core by default, see `Reactor`) accept
/// connections, read and parse requests and enforce every deadline, so idle and slow clients
/// cost no thread. Complete
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

    struct Job {
        let connection: Connection
        let request: HTTPRequest
        let keepAlive: Bool
        let received: Double
        /// A response already made on the event loop that still has to be streamed.
        var prepared: HTTPResponse?
        /// A streamed body to go on with once its previous piece has been sent.
        var continuing: StreamProgress?
    }

    struct Completion {
        let connection: Connection
        let remaining: [UInt8]
        let broken: Bool
        let keepAlive: Bool
        /// A streamed body that goes on (on a worker) once `remaining` is sent.
        var stream: StreamProgress?
    }

    let configuration: ServerConfiguration
    let responder: HTTPResponder
    let logger: Logger

    // Shared between threads, guarded by `lock`.
    private let lock = NSCondition()
    private var lifeCycle = LifeCycle.idle
    private var listenerClosed = false
    private var reactorsRunning = 0
    private var boundPort = 0
    private var sharedDate = HTTPDateCache()
    /// The counters workers keep; the reactors keep the rest (see `stats()`).
    private var published = HTTPServerStats()
    /// Open connections and each capped client's, across reactors: admitted by the listening
    /// reactor, released by whichever reactor closes them.
    private var openConnections = 0
    private var connectionsPerClient: [String: Int] = [:]
    /// Set once shutdown begins; reactors read it every turn without taking `lock`.
    private let stopping = Atomic<Bool>(false)

    // Set in `start()` before any thread exists, then read only.
    private(set) var reactors: [Reactor] = []
    private(set) var pool: WorkerPool<Job>!
    private var runSlots: RunSlots?
    /// `configuration.maxConnections`, lowered to what the open-file limit allows.
    private(set) var connectionLimit = 0

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
        var made: [Reactor] = []
        for index in 0..<max(1, configuration.reactorThreads) {
            let epoll = Epoll.create()
            let wake = epoll >= 0 ? Epoll.makeEventFD() : -1
            guard epoll >= 0, wake >= 0 else {
                let code = errno
                if epoll >= 0 { close(epoll) }
                for reactor in made {
                    close(reactor.epollFD)
                    close(reactor.wakeFD)
                }
                close(fd)
                throw HTTPServerError.systemCall(epoll < 0 ? "epoll_create1" : "eventfd", errno: code)
            }
            made.append(Reactor(server: self, index: index, epollFD: epoll, wakeFD: wake, listenFD: index == 0 ? fd : -1))
        }
        reactors = made

        lock.lock()
        boundPort = actualPort
        lifeCycle = .running
        reactorsRunning = reactors.count
        lock.unlock()

        if configuration.runningHandlers > 0 {
            let slots = RunSlots(capacity: configuration.runningHandlers)
            runSlots = slots
            pool = WorkerPool<Job>(slots: slots) { [self] job in self.run(job) }
        } else {
            pool = WorkerPool<Job> { [self] job in self.run(job) }
        }
        pool.start(threads: configuration.workerThreads, name: "http-worker")
        for reactor in reactors {
            let thread = Thread { reactor.run() }
            thread.name = "http-reactor-\(reactor.index)"
            thread.start()
        }
        logger.info("HTTP server listening", metadata: [
            "host": "\(configuration.host)", "port": "\(actualPort)", "reactors": "\(reactors.count)",
        ])
    }

    /// Stops accepting (new connections are refused once this returns), lets in-flight
    /// requests finish within `shutdownGracePeriod`, closes idle connections, then stops.
    /// Returns without waiting for that; see `waitUntilStopped()`.
    public func shutdown() {
        lock.lock()
        defer { lock.unlock() }
        guard lifeCycle == .running else { return }
        lifeCycle = .stopping
        stopping.store(true, ordering: .releasing)
        for reactor in reactors { reactor.wake() }
        while !listenerClosed && reactorsRunning > 0 {
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

    // MARK: - Shared by the reactors

    var stopRequested: Bool { stopping.load(ordering: .acquiring) }

    enum Admission { case admitted, overLimit, overClientCap }

    /// Counts a newly accepted connection against the server's limit and its client's cap.
    func admit(client: String, capped: Bool) -> Admission {
        lock.lock()
        defer { lock.unlock() }
        if openConnections >= connectionLimit { return .overLimit }
        if capped && connectionsPerClient[client, default: 0] >= configuration.maxConnectionsPerClient { return .overClientCap }
        openConnections += 1
        if capped { connectionsPerClient[client, default: 0] += 1 }
        return .admitted
    }

    /// Uncounts a closed connection.
    func release(client: String, counted: Bool) {
        lock.lock()
        defer { lock.unlock() }
        openConnections -= 1
        if counted {
            let left = connectionsPerClient[client, default: 1] - 1
            connectionsPerClient[client] = left > 0 ? left : nil
        }
    }

    func listenerDidClose() {
        lock.lock()
        listenerClosed = true
        lock.broadcast()
        lock.unlock()
    }

    /// The last reactor to stop stops the workers.
    func reactorDidExit() {
        lock.lock()
        reactorsRunning -= 1
        let last = reactorsRunning == 0
        lock.unlock()
        guard last else { return }
        for job in pool.stop() {
            close(job.connection.fd)
        }
        lock.lock()
        lifeCycle = .stopped
        listenerClosed = true
        lock.broadcast()
        lock.unlock()
        logger.info("HTTP server stopped")
    }

    /// Gzips a text-like body of `compressionMinBytes` or more for a client that accepts it.
    /// Such a response says `Vary: Accept-Encoding` either way, so a cache never hands the
    /// gzip form to a client that did not ask for it. A strong `ETag` becomes weak: the bytes
    /// differ from the identity form's, the content does not.
    func compressIfWorthIt(_ response: inout HTTPResponse, for request: HTTPRequest) {
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

    /// The server's figures now: connections, queue, workers and refusals.
    public func stats() -> HTTPServerStats {
        var stats = HTTPServerStats()
        for reactor in reactors { stats.add(reactor.stats) }
        lock.lock()
        stats.rejectedQueueWait = published.rejectedQueueWait
        stats.droppedGoneClients = published.droppedGoneClients
        lock.unlock()
        if let pool {
            stats.queuedRequests = pool.queued
            stats.busyWorkers = pool.busy
            stats.waitingForSlot = runSlots?.waiting ?? 0
        }
        stats.workerThreads = configuration.workerThreads
        return stats
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
        if !job.connection.reactor.post(completion) {
            close(job.connection.fd)
        }
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
    /// A reactor answering inline passes its own date and whether it is running (`onLoop`); a
    /// worker takes them from the server.
    func deliver(_ response: HTTPResponse, for job: Job, onLoop: (date: String, running: Bool)? = nil) -> Completion {
        let request = job.request
        var response = response
        let date: String
        let running: Bool
        if let onLoop {
            (date, running) = onLoop
        } else {
            lock.lock()
            (date, running) = (sharedDate.current(), lifeCycle == .running)
            lock.unlock()
        }
        // A response finishing after shutdown() began tells the client not to reuse the connection.
        // A handler may also ask for the connection to be closed after its response.
        var keepAlive = job.keepAlive && running && !response.headers.tokens("Connection").contains("close")
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

/// Request ids: a random prefix per event loop and a counter (`5f0c2a91d3e4b7a8-000000000001f`), so ids
/// are unique across loops and replicas and cost no random bytes per request.
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
