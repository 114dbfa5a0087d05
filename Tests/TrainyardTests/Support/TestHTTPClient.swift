import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A response as a test sees it.
struct TestResponse {
    var status: Int
    var headers: [(String, String)]
    var body: String

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    func headers(_ name: String) -> [String] {
        headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
    }
}

/// A small blocking HTTP/1.1 client over a real socket: one request per connection.
enum TestHTTPClient {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func send(port: Int, method: String, path: String, headers: [(String, String)] = [], body: String = "") throws -> TestResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.utf8.count)\r\n" }
        head += "\r\n"
        let raw = try exchange(port: port, bytes: Array((head + body).utf8))
        return try parse(raw, headRequest: method == "HEAD")
    }

    static func exchange(port: Int, bytes: [UInt8], timeout: Int = 10) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect to port \(port) failed") }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send failed") }
            sent += n
        }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }

    /// `headRequest`: the body is whatever followed the head (it should be nothing), undecoded.
    static func parse(_ raw: [UInt8], headRequest: Bool = false) throws -> TestResponse {
        guard let end = find(raw, Array("\r\n\r\n".utf8)) else {
            throw Failure(description: "no complete response head in \(raw.count) bytes")
        }
        let head = String(decoding: raw[0..<end], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure(description: "bad status line") }
        let headers: [(String, String)] = lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = Array(raw[(end + 4)...])
        if headRequest {
            // Whatever came after the head: nothing, if the server honoured HEAD.
        } else if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" && $0.1.lowercased() == "chunked" }) {
            body = try dechunk(body)
        } else if let length = headers.first(where: { $0.0.lowercased() == "content-length" }).flatMap({ Int($0.1) }), body.count > length {
            body = Array(body[0..<length])
        }
        return TestResponse(status: status, headers: headers, body: String(decoding: body, as: UTF8.self))
    }

    /// A chunked body's bytes; throws when it ends without the last chunk (a transfer cut short).
    static func dechunk(_ bytes: [UInt8]) throws -> [UInt8] {
        var body: [UInt8] = []
        var i = 0
        while true {
            guard let lineEnd = find(Array(bytes[i...].prefix(32)), [13, 10]).map({ $0 + i }),
                  let size = Int(String(decoding: bytes[i..<lineEnd], as: UTF8.self), radix: 16) else {
                throw Failure(description: "chunked body cut short after \(body.count) bytes (no chunk size at byte \(i))")
            }
            i = lineEnd + 2
            if size == 0 {
                guard bytes.count >= i + 2, bytes[i] == 13, bytes[i + 1] == 10 else { throw Failure(description: "no end after the last chunk") }
                return body
            }
            guard bytes.count >= i + size + 2, bytes[i + size] == 13, bytes[i + size + 1] == 10 else {
                throw Failure(description: "chunked body cut short after \(body.count) bytes (a chunk of \(size) is incomplete)")
            }
            body += bytes[i..<(i + size)]
            i += size + 2
        }
    }

    static func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }
}

/// A browser-like session: keeps cookies, finds the CSRF token on the last page, follows nothing by itself.
final class TestBrowser {
    let port: Int
    var cookies: [String: String] = [:]
    var lastPage = ""
    /// The session's CSRF token as last seen in a form; it stays valid for the whole session.
    var lastToken: String?

    init(port: Int) { self.port = port }

    @discardableResult
    func get(_ path: String) throws -> TestResponse {
        let response = try TestHTTPClient.send(port: port, method: "GET", path: path, headers: cookieHeader())
        remember(response)
        lastPage = response.body
        if let token = csrfToken() { lastToken = token }
        return response
    }

    /// POSTs a form; the CSRF token from the last page is added unless `csrf` is given explicitly.
    @discardableResult
    func post(_ path: String, _ fields: [(String, String)], csrf: String? = nil, includeCSRF: Bool = true) throws -> TestResponse {
        var pairs = fields
        if includeCSRF { pairs.append(("_csrf", csrf ?? lastToken ?? "")) }
        let body = pairs.map { "\(formEncode($0.0))=\(formEncode($0.1))" }.joined(separator: "&")
        let response = try TestHTTPClient.send(port: port, method: "POST", path: path,
                                               headers: cookieHeader() + [("Content-Type", "application/x-www-form-urlencoded")],
                                               body: body)
        remember(response)
        return response
    }

    /// POSTs `body` exactly as given (already form-encoded), with this browser's cookies.
    @discardableResult
    func postRaw(_ path: String, body: String) throws -> TestResponse {
        let response = try TestHTTPClient.send(port: port, method: "POST", path: path,
                                               headers: cookieHeader() + [("Content-Type", "application/x-www-form-urlencoded")],
                                               body: body)
        remember(response)
        return response
    }

    /// A request with this browser's cookies (and `headers`) that changes nothing it remembers.
    func request(_ method: String, _ path: String, headers: [(String, String)] = []) throws -> TestResponse {
        try TestHTTPClient.send(port: port, method: method, path: path, headers: cookieHeader() + headers)
    }

    struct SignInFailed: Error, CustomStringConvertible { var description: String }

    /// Signs in through the real form; throws unless the server answered with a session.
    func signIn(_ username: String, _ password: String) throws {
        try get("/login")
        let response = try post("/login", [("username", username), ("password", password)])
        guard response.status == 303, response.header("Location") != "/login" else {
            throw SignInFailed(description: "sign-in as \(username) answered \(response.status) → \(response.header("Location") ?? "")")
        }
        // The session secret changed at sign-in; the next page's forms carry the new token.
        try get("/")
    }

    func csrfToken() -> String? {
        guard let range = lastPage.range(of: "name=\"_csrf\" value=\"") else { return nil }
        let rest = lastPage[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    private func cookieHeader() -> [(String, String)] {
        cookies.isEmpty ? [] : [("Cookie", cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))]
    }

    private func remember(_ response: TestResponse) {
        for header in response.headers("Set-Cookie") {
            let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { continue }
            let name = String(pair[0]), value = String(pair[1])
            if value.isEmpty || header.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
    }

    private func formEncode(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "): out += "+"
            default: out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
