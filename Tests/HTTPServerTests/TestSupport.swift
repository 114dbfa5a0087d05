import Foundation
import HTTPServer
import Logging
#if canImport(Glibc)
import Glibc
#endif

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A response as seen by a client.
struct TestResponse {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    func headerValues(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A blocking POSIX client socket for tests, with a receive timeout so nothing hangs.
final class TestClient {
    let fd: Int32
    private var buffer: [UInt8] = []

    /// `receiveBuffer` shrinks the socket's receive buffer (set before connecting, so the
    /// window stays small) to make a slow reader push back on the server quickly.
    /// `source` binds the client to another loopback address (any of 127.0.0.0/8), so one
    /// test can play many clients.
    init(port: Int, timeout: Double = 5, receiveBuffer: Int32? = nil, source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                let code = errno
                close(fd)
                throw TestFailure("bind \(source): \(String(cString: strerror(code)))")
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc != 0 {
            let code = errno
            close(fd)
            throw TestFailure("connect: \(String(cString: strerror(code)))")
        }
        setTimeout(timeout)
    }

    deinit {
        close(fd)
    }

    func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    @discardableResult
    func send(_ text: String) -> Bool {
        send(Array(text.utf8))
    }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// Reads more bytes into the buffer; false on EOF, error or timeout.
    private func fill(max: Int = 65536) -> Bool {
        var chunk = [UInt8](repeating: 0, count: max)
        let n = recv(fd, &chunk, chunk.count, 0)
        if n < 0 { lastError = errno }
        if n <= 0 { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    /// errno of the last failed read (EAGAIN: the timeout passed; ECONNRESET: a reset).
    private(set) var lastError: Int32 = 0

    /// Reads one response; `headRequest` means no body follows whatever Content-Length says.
    func readResponse(headRequest: Bool = false) throws -> TestResponse {
        var response = try readHead()
        let status = response.status
        if headRequest || status == 204 || status == 304 { return response }
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            let body = try readChunks()
            guard body.complete else { throw TestFailure("chunked body ended without its last chunk") }
            response.body = body.chunks.flatMap { $0 }
            return response
        }
        let length = Int(response.header("Content-Length") ?? "") ?? 0
        while buffer.count < length {
            guard fill() else { throw TestFailure("connection ended inside a body") }
        }
        response.body = Array(buffer[0..<length])
        buffer.removeSubrange(0..<length)
        return response
    }

    /// Reads the status line and header fields of the next final response (skipping 1xx), and
    /// nothing of its body.
    func readHead() throws -> TestResponse {
        while true {
            guard let end = findHeadEnd() else {
                guard fill() else {
                    throw TestFailure("connection ended before a response head (\(buffer.count) bytes buffered, errno \(lastError))")
                }
                continue
            }
            let head = String(decoding: buffer[0..<end], as: UTF8.self)
            var lines = head.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst()
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
                throw TestFailure("bad status line: \(statusLine)")
            }
            var headers: [(name: String, value: String)] = []
            for line in lines where !line.isEmpty {
                guard let colon = line.firstIndex(of: ":") else { throw TestFailure("bad header line: \(line)") }
                headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
            buffer.removeSubrange(0..<(end + 4))
            if status >= 100 && status < 200 { continue }
            return TestResponse(status: status, headers: headers, body: [])
        }
    }

    /// The chunks of a chunked body (after its head was read), strict about the framing, and
    /// whether the last chunk and the empty trailer arrived before the connection ended.
    func readChunks() throws -> (chunks: [[UInt8]], complete: Bool) {
        var chunks: [[UInt8]] = []
        while true {
            guard let lineEnd = try lineEnd() else { return (chunks, false) }
            let sizeLine = String(decoding: buffer[0..<lineEnd], as: UTF8.self)
            guard !sizeLine.isEmpty, sizeLine.allSatisfy(\.isHexDigit), let size = Int(sizeLine, radix: 16) else {
                throw TestFailure("bad chunk size line \(String(reflecting: sizeLine))")
            }
            buffer.removeSubrange(0..<(lineEnd + 2))
            if size == 0 {
                // No trailer fields: the last chunk is followed by one empty line.
                guard let end = try self.lineEnd() else { return (chunks, false) }
                guard end == 0 else { throw TestFailure("unexpected trailer after the last chunk") }
                buffer.removeSubrange(0..<2)
                return (chunks, true)
            }
            while buffer.count < size + 2 {
                guard fill() else { return (chunks, false) }
            }
            guard buffer[size] == 13 && buffer[size + 1] == 10 else { throw TestFailure("chunk of \(size) bytes not followed by CRLF") }
            chunks.append(Array(buffer[0..<size]))
            buffer.removeSubrange(0..<(size + 2))
        }
    }

    /// The offset of the first CRLF in the buffer, reading as needed; nil when the connection ends first.
    private func lineEnd() throws -> Int? {
        while true {
            if buffer.count >= 2 {
                for i in 0..<(buffer.count - 1) where buffer[i] == 13 && buffer[i + 1] == 10 { return i }
            }
            if buffer.count > 64 { throw TestFailure("no CRLF in \(buffer.count) bytes where a chunk size was expected") }
            guard fill() else { return nil }
        }
    }

    /// Up to `count` bytes as they arrive (at least one unless the connection ended), for
    /// reading a body slowly.
    func readSome(max count: Int) -> [UInt8] {
        if buffer.isEmpty { _ = fill(max: count) }
        let n = min(count, buffer.count)
        let out = Array(buffer[0..<n])
        buffer.removeSubrange(0..<n)
        return out
    }

    private func findHeadEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// Whether bytes (or the end of the stream) are waiting to be read, without waiting.
    func hasDataWaiting() -> Bool {
        if !buffer.isEmpty { return true }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0
    }

    /// Whether the server closed the connection: EOF (or reset) with no further response bytes.
    func isClosedByPeer() -> Bool {
        if !buffer.isEmpty { return false }
        var chunk = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &chunk, chunk.count, 0)
        if n == 0 { return true }
        if n < 0 { return errno == ECONNRESET }
        buffer.append(contentsOf: chunk[0..<n])
        return false
    }

    /// Everything until the server closes (or the timeout passes).
    func readToEnd() -> [UInt8] {
        while fill() {}
        let all = buffer
        buffer = []
        return all
    }
}

/// A logger that records messages so tests can look at the access log.
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    final class Store: @unchecked Sendable {
        private let lock = NSLock()
        private var records: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] = []

        func append(_ level: Logger.Level, _ message: String, _ metadata: Logger.Metadata) {
            lock.lock()
            records.append((level, message, metadata))
            lock.unlock()
        }

        var all: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] {
            lock.lock()
            defer { lock.unlock() }
            return records
        }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    init(store: Store) {
        self.store = store
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        store.append(event.level, event.message.description, event.metadata ?? [:])
    }
}

func quietLogger() -> Logger {
    Logger(label: "http-test") { _ in SwiftLogNoOpLogHandler() }
}

/// A closure as a responder.
final class ClosureResponder: HTTPResponder {
    let handler: HTTPHandler
    init(_ handler: @escaping HTTPHandler) { self.handler = handler }
    func respond(to request: HTTPRequest) throws -> HTTPResponse { try handler(request) }
}

struct Boom: Error, CustomStringConvertible {
    var description: String { "secret database password is hunter2" }
}

/// The router most server tests use.
func makeTestRouter() -> Router {
    let router = Router()
    router.get("/") { _ in .text("hello") }
    router.post("/echo") { request in
        HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "application/octet-stream")]), body: request.body)
    }
    router.get("/query") { request in .text(request.query.all("k").joined(separator: "|")) }
    router.post("/form") { request in
        let form = request.formParameters
        return .text(form.pairs.map { "\($0.name)=\($0.value)" }.joined(separator: "|"))
    }
    router.get("/items/{id}") { request in .text("item " + (request.pathParameters["id"] ?? "?")) }
    router.post("/items/{id}") { request in .text("updated " + (request.pathParameters["id"] ?? "?")) }
    router.get("/throw") { _ in throw Boom() }
    router.get("/inject") { _ in
        var response = HTTPResponse.text("x")
        response.headers.add("X-Note", "a\r\nSet-Cookie: evil=1")
        return response
    }
    router.get("/sleep") { request in
        let ms = Int(request.query["ms"] ?? "100") ?? 100
        usleep(useconds_t(ms * 1000))
        return .text("slept")
    }
    return router
}

/// Starts a server on an ephemeral port with test-friendly settings, runs `body`, then shuts
/// the server down and waits for it.
func withServer<T>(
    responder: HTTPResponder = makeTestRouter(),
    logger: Logger = quietLogger(),
    configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: (HTTPServer, Int) throws -> T
) throws -> T {
    var configuration = ServerConfiguration()
    configuration.port = 0
    configuration.workerThreads = 4
    configuration.shutdownGracePeriod = 2
    configure(&configuration)
    let server = HTTPServer(configuration: configuration, responder: responder, logger: logger)
    try server.start()
    defer {
        server.shutdown()
        server.waitUntilStopped()
    }
    return try body(server, server.port)
}

/// One request on a fresh connection; returns the response.
func fetch(_ port: Int, _ raw: String, headRequest: Bool = false) throws -> TestResponse {
    let client = try TestClient(port: port)
    client.send(raw)
    return try client.readResponse(headRequest: headRequest)
}

func get(_ port: Int, _ target: String, headers: String = "") throws -> TestResponse {
    try fetch(port, "GET \(target) HTTP/1.1\r\nHost: test\r\n\(headers)\r\n")
}

func raiseFileLimit() {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

/// A deterministic generator (SplitMix64) so a failing random test can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A gate a handler waits at until the test opens it, and a count of the handlers that ran.
final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var open = false
    private(set) var entered = 0
    private(set) var ran: [String] = []

    func pass(_ name: String) {
        condition.lock()
        entered += 1
        ran.append(name)
        condition.broadcast()
        while !open { condition.wait() }
        condition.unlock()
    }

    func waitForEntries(_ count: Int, seconds: Double = 5) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let limit = Date(timeIntervalSinceNow: seconds)
        while entered < count {
            if !condition.wait(until: limit) { return entered >= count }
        }
        return true
    }

    func release() {
        condition.lock()
        open = true
        condition.broadcast()
        condition.unlock()
    }

    var names: [String] {
        condition.lock()
        defer { condition.unlock() }
        return ran
    }
}

/// Waits until `condition` holds, polling, or gives up after `seconds`.
func eventually(_ seconds: Double = 3, _ condition: () -> Bool) -> Bool {
    let limit = Date(timeIntervalSinceNow: seconds)
    while Date() < limit {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
