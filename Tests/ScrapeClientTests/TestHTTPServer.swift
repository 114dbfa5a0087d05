import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A tiny HTTP/1.1 server on a real loopback socket, for watching what the
/// scrape client does on the wire: how many connections it opened, what it
/// asked for, and how it copes with canned answers.
final class TestHTTPServer: @unchecked Sendable {
    enum Reply {
        /// Status line, headers, then the body with a Content-Length.
        case response(status: Int, headers: [(String, String)] = [], body: [UInt8] = [])
        /// Transfer-Encoding: chunked, one HTTP chunk per element.
        case chunked(status: Int = 200, headers: [(String, String)] = [], chunks: [[UInt8]])
        /// A body streamed without a length until the client hangs up.
        case endless(headers: [(String, String)] = [])
        /// Reads the request and never answers.
        case silence
    }

    struct Request {
        var head: String
        var requestLine: String { head.components(separatedBy: "\r\n").first ?? "" }

        /// The first header with this name (case-insensitive), if any.
        func header(_ name: String) -> String? {
            for line in head.components(separatedBy: "\r\n").dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                if line[..<colon].lowercased() == name.lowercased() {
                    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }
    }

    let host: String
    let port: Int
    private let listener: Int32
    private let handler: @Sendable (Request) -> Reply
    private let lock = NSLock()
    private var accepted = 0
    private var seen: [Request] = []
    private var stopping = false
    private let acceptLoopDone = DispatchSemaphore(value: 0)

    init(host: String = "127.0.0.1", handler: @escaping @Sendable (Request) -> Reply) throws {
        self.host = host
        self.handler = handler
        let family = host.contains(":") ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXFailure("socket") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var boundPort: UInt16 = 0
        if family == AF_INET6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else { close(fd); throw POSIXFailure("inet_pton") }
            guard Self.bindAndListen(fd, &address) else { close(fd); throw POSIXFailure("bind/listen") }
            boundPort = address.sin6_port
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { close(fd); throw POSIXFailure("inet_pton") }
            guard Self.bindAndListen(fd, &address) else { close(fd); throw POSIXFailure("bind/listen") }
            boundPort = address.sin_port
        }
        port = Int(UInt16(bigEndian: boundPort))
        listener = fd
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "TestHTTPServer \(host):\(port)"
        thread.start()
    }

    /// Binds to port 0 and listens; on return `address` holds the port.
    private static func bindAndListen<Address>(_ fd: Int32, _ address: inout Address) -> Bool {
        var length = socklen_t(MemoryLayout<Address>.size)
        return withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
    }

    /// "http://host:port" + path.
    func url(_ path: String = "/metrics") -> String {
        host.contains(":") ? "http://[\(host)]:\(port)\(path)" : "http://\(host):\(port)\(path)"
    }

    /// Connections accepted so far. Waits `settle` seconds first, so a
    /// connection still in the listen backlog is counted too.
    func connectionCount(settle: TimeInterval = 0.2) -> Int {
        if settle > 0 { Thread.sleep(forTimeInterval: settle) }
        return lock.withLock { accepted }
    }

    var requests: [Request] {
        lock.withLock { seen }
    }

    /// Stops accepting and closes the listener; idempotent. (The accept
    /// thread holds the server, so this is not left to deinit.)
    func stop() {
        let first: Bool = lock.withLock {
            defer { stopping = true }
            return !stopping
        }
        guard first else { return }
        acceptLoopDone.wait()
        close(listener)
    }

    private var isStopping: Bool {
        lock.withLock { stopping }
    }

    private func acceptLoop() {
        defer { acceptLoopDone.signal() }
        while !isStopping {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            lock.withLock { accepted += 1 }
            let thread = Thread { [self] in serve(client) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        guard let head = readHead(fd) else { return }
        let request = Request(head: head)
        lock.withLock { seen.append(request) }
        switch handler(request) {
        case .response(let status, let headers, let body):
            var all = headers
            all.append(("Content-Length", "\(body.count)"))
            _ = send(fd, head: Self.head(status, all)) && send(fd, body)
        case .chunked(let status, let headers, let chunks):
            var all = headers
            all.append(("Transfer-Encoding", "chunked"))
            guard send(fd, head: Self.head(status, all)) else { return }
            for chunk in chunks where !chunk.isEmpty {
                guard send(fd, Array(String(chunk.count, radix: 16).utf8) + [13, 10] + chunk + [13, 10]) else { return }
            }
            _ = send(fd, Array("0\r\n\r\n".utf8))
        case .endless(let headers):
            guard send(fd, head: Self.head(200, headers + [("Connection", "close")])) else { return }
            let block = [UInt8](repeating: UInt8(ascii: "x"), count: 64 << 10)
            while !isStopping, send(fd, block) {}
        case .silence:
            // Hold the connection open, unanswered, until the client gives up.
            var byte: UInt8 = 0
            while !isStopping {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&poller, 1, 50) > 0, recv(fd, &byte, 1, 0) <= 0 { return }
            }
        }
    }

    private static func head(_ status: Int, _ headers: [(String, String)]) -> String {
        var text = "HTTP/1.1 \(status) \(reason(status))\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        return text + "\r\n"
    }

    private static func reason(_ status: Int) -> String {
        [200: "OK", 204: "No Content", 301: "Moved Permanently", 302: "Found", 404: "Not Found", 503: "Service Unavailable"][status] ?? "Status"
    }

    private func readHead(_ fd: Int32) -> String? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let end: [UInt8] = [13, 10, 13, 10]
        while data.count < 64 << 10 {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 5000) > 0 else { return nil }
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            data += buffer[0..<count]
            if let range = data.firstRange(of: end) {
                return String(decoding: data[..<range.lowerBound], as: UTF8.self)
            }
        }
        return nil
    }

    private func send(_ fd: Int32, head: String) -> Bool {
        send(fd, Array(head.utf8))
    }

    /// Writes everything; false once the client has gone (no SIGPIPE).
    private func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    /// A loopback port that nothing listens on (bound, then released).
    static func closedPort(host: String = "127.0.0.1") -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, host, &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                bind(fd, pointer, length)
                return getsockname(fd, pointer, &length)
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

extension XCTestCase {
    /// A server that stops when the test ends.
    func startServer(host: String = "127.0.0.1", _ handler: @escaping @Sendable (TestHTTPServer.Request) -> TestHTTPServer.Reply) throws -> TestHTTPServer {
        let server = try TestHTTPServer(host: host, handler: handler)
        addTeardownBlock { server.stop() }
        return server
    }
}

struct POSIXFailure: Error, CustomStringConvertible {
    let description: String
    init(_ call: String) { description = "\(call) failed: errno \(errno)" }
}

/// gzip without compression (deflate "stored" blocks): readable in a test,
/// and what the client receives is still a real gzip stream to decode.
func gzipStored(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xFF]
    var offset = 0
    repeat {
        let count = min(data.count - offset, 65_535)
        let final: UInt8 = offset + count == data.count ? 1 : 0
        out.append(final)
        out += [UInt8(count & 0xFF), UInt8(count >> 8), UInt8(~count & 0xFF), UInt8((~count >> 8) & 0xFF)]
        out += data[offset..<offset + count]
        offset += count
    } while offset < data.count
    out += littleEndian(crc32(data)) + littleEndian(UInt32(truncatingIfNeeded: data.count))
    return out
}

private func littleEndian(_ value: UInt32) -> [UInt8] {
    (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}

private func crc32(_ data: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in data {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// `gzip -9 -n` of 1 MiB of zero bytes: 1051 bytes on the wire, 1 MiB
/// once decoded — a small gzip bomb. (Its middle is 1016 zero bytes.)
let gzipOfOneMiBOfZeros: [UInt8] = {
    func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
    return hex("1f8b0800000000000203edc13101000000c2a0f54f6d085fa0")
        + [UInt8](repeating: 0, count: 1016)
        + hex("3e031cea38a700001000")
}()
