#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a request was refused: the status to answer with (always 4xx or 5xx) and a short reason
/// for the log. The connection is closed after the answer.
public struct HTTPParseError: Error, Equatable, CustomStringConvertible {
    /// The status to answer with (400, 408, 413, 414, 417, 431, 501, 505).
    public var status: Int
    /// A short explanation for the log; never sent to the client.
    public var reason: String

    /// A refusal with `status` and `reason`.
    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }

    /// `status reason`
    public var description: String { "\(status) \(reason)" }
}

/// What the parser found in the bytes fed so far.
public enum HTTPParseEvent {
    /// A complete request, head and body.
    case request(HTTPRequest)
    /// The head of a request carrying `Expect: 100-continue` is complete and its body is
    /// still to come; the server may answer `100 Continue`.
    case expectContinue
    /// The input is not acceptable; nothing more will be parsed.
    case failure(HTTPParseError)
}

/// Size limits enforced while parsing, before anything is buffered beyond them.
public struct HTTPParserLimits {
    /// Request line plus header fields, in bytes (431 beyond).
    public var maxHeadBytes: Int
    /// The request line alone (414 beyond).
    public var maxRequestLineBytes: Int
    /// The body after de-chunking (413 beyond; decided from Content-Length before reading).
    public var maxBodyBytes: Int
    /// The number of header fields (431 beyond).
    public var maxHeaderCount: Int

    /// Limits; the defaults match `ServerConfiguration`.
    public init(maxHeadBytes: Int = 16 * 1024, maxRequestLineBytes: Int = 8 * 1024, maxBodyBytes: Int = 1 << 20, maxHeaderCount: Int = 100) {
        self.maxHeadBytes = maxHeadBytes
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderCount = maxHeaderCount
    }
}

/// An incremental HTTP/1.1 request parser (RFC 9112). Feed it bytes as they arrive, in pieces
/// of any size; it returns the requests completed by those bytes, in order, or a failure after
/// which it accepts nothing more. It never touches a socket.
///
/// ```swift
/// var parser = HTTPRequestParser()
/// for event in parser.feed(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)) {
///     if case .request(let request) = event { print(request.path) }
/// }
/// ```
///
/// It is strict where leniency enables request smuggling: bare CR or LF line endings, obs-fold,
/// whitespace before the colon, conflicting or malformed Content-Length, Content-Length with
/// Transfer-Encoding and any coding other than `chunked` are all refused.
public struct HTTPRequestParser {
    private enum State {
        case requestLine
        case headers
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case failed
    }

    /// The limits in force.
    public let limits: HTTPParserLimits

    private var state: State = .requestLine
    private var buffer: [UInt8] = []
    /// Start of the unconsumed bytes in `buffer`.
    private var position = 0
    /// Where the search for the next LF resumes, so a slowly arriving line is scanned once.
    private var scanFrom = 0
    /// Bytes of the current head (or trailer section) consumed so far.
    private var headBytes = 0

    private var method = ""
    private var target = ""
    private var version = HTTPVersion.http11
    private var headers = HTTPHeaders()
    private var body: [UInt8] = []

    static let maxChunkSizeLineBytes = 1024
    /// Chunk framing (size lines, extensions, CRLFs) a body may carry beyond its own size: past
    /// this grace, framing may not outweigh the data. Without it a tiny body could arrive as
    /// hundreds of megabytes of `1;xxxx…` lines, all read on the reactor (Go's CVE-2023-39326).
    static let chunkFramingGraceBytes = 16 * 1024
    private var chunkFraming = 0

    /// A parser with the given limits.
    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        self.limits = limits
    }

    /// Whether bytes of an unfinished request are buffered (the connection is not idle).
    public var hasPartialRequest: Bool {
        if case .requestLine = state { return position < buffer.count }
        if case .failed = state { return false }
        return true
    }

    /// Whether the head of the current request is complete and its body is being received.
    public var isReadingBody: Bool {
        switch state {
        case .body, .chunkSize, .chunkData, .chunkDataEnd, .trailers: return true
        default: return false
        }
    }

    /// Whether the parser has refused its input.
    public var hasFailed: Bool {
        if case .failed = state { return true }
        return false
    }

    /// Feeds bytes; returns what they completed.
    public mutating func feed(_ bytes: [UInt8]) -> [HTTPParseEvent] {
        if case .failed = state { return [] }
        buffer.append(contentsOf: bytes)
        return process()
    }

    /// Feeds bytes; returns what they completed.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [HTTPParseEvent] {
        if case .failed = state { return [] }
        buffer.append(contentsOf: bytes)
        return process()
    }

    /// Signals the end of input: an unfinished request becomes a 400 failure.
    public mutating func finish() -> [HTTPParseEvent] {
        guard hasPartialRequest else { return [] }
        return [fail(400, "incomplete request")]
    }

    // MARK: - Driving

    private mutating func fail(_ status: Int, _ reason: String) -> HTTPParseEvent {
        state = .failed
        buffer = []
        position = 0
        scanFrom = 0
        return .failure(HTTPParseError(status: status, reason: reason))
    }

    private mutating func process() -> [HTTPParseEvent] {
        var events: [HTTPParseEvent] = []
        loop: while true {
            switch state {
            case .failed:
                break loop
            case .requestLine, .headers, .chunkSize, .trailers:
                guard let lf = findLF() else {
                    if let failure = checkUnterminatedLine() { events.append(failure) }
                    break loop
                }
                let lineStart = position
                position = lf + 1
                scanFrom = position
                if let event = handleLine(start: lineStart, lfIndex: lf) {
                    events.append(event)
                }
            case .body(let remaining):
                let available = buffer.count - position
                if available == 0 { break loop }
                let n = min(available, remaining)
                body.append(contentsOf: buffer[position..<(position + n)])
                position += n
                if n == remaining {
                    events.append(completeRequest())
                } else {
                    state = .body(remaining: remaining - n)
                }
            case .chunkData(let remaining):
                let available = buffer.count - position
                if available == 0 { break loop }
                let n = min(available, remaining)
                body.append(contentsOf: buffer[position..<(position + n)])
                position += n
                state = n == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - n)
            case .chunkDataEnd:
                let available = buffer.count - position
                if available == 0 { break loop }
                if buffer[position] != 13 {
                    events.append(fail(400, "chunk data not followed by CRLF"))
                    break loop
                }
                if available < 2 { break loop }
                if buffer[position + 1] != 10 {
                    events.append(fail(400, "chunk data not followed by CRLF"))
                    break loop
                }
                position += 2
                scanFrom = position
                state = .chunkSize
            }
        }
        compact()
        return events
    }

    private mutating func compact() {
        if case .failed = state { return }
        if position == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
            position = 0
            scanFrom = 0
        } else if position > 4096 && position * 2 > buffer.count {
            buffer.removeSubrange(0..<position)
            scanFrom -= position
            position = 0
        }
    }

    private mutating func findLF() -> Int? {
        let from = max(scanFrom, position)
        let count = buffer.count
        if from >= count { return nil }
        let found: Int? = buffer.withUnsafeBytes { raw -> Int? in
            guard let base = raw.baseAddress else { return nil }
            guard let hit = memchr(base + from, 10, count - from) else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
        if found == nil { scanFrom = count }
        return found
    }

    /// Limits that can be decided before a line is complete. They depend only on the number of
    /// bytes seen, so splitting the input differently never changes the verdict.
    private mutating func checkUnterminatedLine() -> HTTPParseEvent? {
        let pending = buffer.count - position
        switch state {
        case .requestLine:
            if pending > limits.maxRequestLineBytes { return fail(414, "request line too long") }
            if headBytes + pending > limits.maxHeadBytes { return fail(431, "request head too large") }
        case .headers:
            if headBytes + pending > limits.maxHeadBytes { return fail(431, "request head too large") }
        case .chunkSize:
            if pending > Self.maxChunkSizeLineBytes { return fail(400, "chunk size line too long") }
        case .trailers:
            if headBytes + pending > limits.maxHeadBytes { return fail(431, "trailer section too large") }
        default:
            break
        }
        return nil
    }

    // MARK: - Lines

    private mutating func handleLine(start: Int, lfIndex: Int) -> HTTPParseEvent? {
        let beforeLF = lfIndex - start
        // Limits first, in the same order as for unterminated lines.
        switch state {
        case .requestLine:
            if beforeLF > limits.maxRequestLineBytes { return fail(414, "request line too long") }
            if headBytes + beforeLF > limits.maxHeadBytes { return fail(431, "request head too large") }
        case .headers:
            if headBytes + beforeLF > limits.maxHeadBytes { return fail(431, "request head too large") }
        case .chunkSize:
            if beforeLF > Self.maxChunkSizeLineBytes { return fail(400, "chunk size line too long") }
        case .trailers:
            if headBytes + beforeLF > limits.maxHeadBytes { return fail(431, "trailer section too large") }
        default:
            break
        }
        headBytes += beforeLF + 1
        if beforeLF == 0 || buffer[lfIndex - 1] != 13 { return fail(400, "bare LF line ending") }
        let end = lfIndex - 1 // exclusive end of the line content, CR excluded
        let hasBareCR: Bool = buffer.withUnsafeBytes { raw in
            memchr(raw.baseAddress! + start, 13, end - start) != nil
        }
        if hasBareCR { return fail(400, "bare CR in line") }

        switch state {
        case .requestLine:
            if end == start { return nil } // an empty line before the request line is ignored
            return parseRequestLine(start, end)
        case .headers:
            if end == start { return finishHead() }
            return parseHeaderLine(start, end)
        case .chunkSize:
            return parseChunkSize(start, end)
        case .trailers:
            if end == start { return completeRequest() }
            return nil // trailer fields are ignored
        default:
            return nil
        }
    }

    private mutating func parseRequestLine(_ start: Int, _ end: Int) -> HTTPParseEvent? {
        var sp1 = -1
        var sp2 = -1
        for i in start..<end where buffer[i] == 32 {
            if sp1 < 0 { sp1 = i } else if sp2 < 0 { sp2 = i } else { return fail(400, "malformed request line") }
        }
        guard sp1 > start, sp2 > sp1 + 1, sp2 < end - 1 else { return fail(400, "malformed request line") }
        for i in start..<sp1 where !isTokenByte(buffer[i]) { return fail(400, "invalid method") }
        for i in (sp1 + 1)..<sp2 {
            let b = buffer[i]
            if b < 0x21 || b > 0x7E || b == UInt8(ascii: "#") { return fail(400, "invalid request target") }
        }
        // HTTP-version = "HTTP/" DIGIT "." DIGIT
        let v = sp2 + 1
        guard end - v == 8,
              buffer[v] == UInt8(ascii: "H"), buffer[v + 1] == UInt8(ascii: "T"),
              buffer[v + 2] == UInt8(ascii: "T"), buffer[v + 3] == UInt8(ascii: "P"),
              buffer[v + 4] == UInt8(ascii: "/"), isDigit(buffer[v + 5]),
              buffer[v + 6] == UInt8(ascii: "."), isDigit(buffer[v + 7])
        else { return fail(400, "malformed HTTP version") }
        let major = Int(buffer[v + 5] - 48)
        let minor = Int(buffer[v + 7] - 48)
        guard major == 1 else { return fail(505, "unsupported HTTP version") }

        method = String(decoding: buffer[start..<sp1], as: UTF8.self)
        target = String(decoding: buffer[(sp1 + 1)..<sp2], as: UTF8.self)
        version = HTTPVersion(major: 1, minor: minor)
        if target.hasPrefix("/") {
            // origin-form
        } else if target == "*" {
            if method != "OPTIONS" { return fail(400, "asterisk-form is only for OPTIONS") }
        } else if asciiHasPrefixIgnoringCase(target, "http://") || asciiHasPrefixIgnoringCase(target, "https://") {
            // absolute-form: the path is taken from after the authority
        } else {
            return fail(400, "invalid request target")
        }
        headers = HTTPHeaders()
        body = []
        chunkFraming = 0
        state = .headers
        return nil
    }

    private mutating func parseHeaderLine(_ start: Int, _ end: Int) -> HTTPParseEvent? {
        let first = buffer[start]
        if first == 32 || first == 9 { return fail(400, "obsolete line folding") }
        var colon = -1
        for i in start..<end {
            let b = buffer[i]
            if b == UInt8(ascii: ":") { colon = i; break }
            if !isTokenByte(b) {
                if b == 32 || b == 9 { return fail(400, "whitespace in field name") }
                return fail(400, "invalid field name")
            }
        }
        guard colon > start else { return fail(400, colon < 0 ? "field line without colon" : "empty field name") }
        var vs = colon + 1
        var ve = end
        while vs < ve, buffer[vs] == 32 || buffer[vs] == 9 { vs += 1 }
        while ve > vs, buffer[ve - 1] == 32 || buffer[ve - 1] == 9 { ve -= 1 }
        for i in vs..<ve {
            let b = buffer[i]
            if (b < 32 && b != 9) || b == 127 { return fail(400, "invalid character in field value") }
        }
        if headers.count >= limits.maxHeaderCount { return fail(431, "too many header fields") }
        headers.add(String(decoding: buffer[start..<colon], as: UTF8.self),
                    String(decoding: buffer[vs..<ve], as: UTF8.self))
        return nil
    }

    private mutating func finishHead() -> HTTPParseEvent? {
        let hosts = headers.values("Host")
        if hosts.count > 1 { return fail(400, "duplicate Host") }
        if version.minor >= 1 && hosts.isEmpty { return fail(400, "missing Host") }

        let transferEncodings = headers.values("Transfer-Encoding")
        let contentLengths = headers.values("Content-Length")
        var expectsBody = false
        if !transferEncodings.isEmpty {
            if !contentLengths.isEmpty { return fail(400, "both Content-Length and Transfer-Encoding") }
            if version.minor == 0 { return fail(400, "Transfer-Encoding in HTTP/1.0") }
            var codings: [Substring] = []
            for value in transferEncodings {
                for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                    codings.append(trimOWS(part))
                }
            }
            guard codings.count == 1, asciiCaseInsensitiveEquals(String(codings[0]), "chunked") else {
                return fail(501, "unsupported transfer coding")
            }
            state = .chunkSize
            expectsBody = true
        } else if !contentLengths.isEmpty {
            var length: Int?
            for value in contentLengths {
                for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                    guard let n = parseContentLength(trimOWS(part)) else { return fail(400, "invalid Content-Length") }
                    if let previous = length, previous != n { return fail(400, "conflicting Content-Length") }
                    length = n
                }
            }
            let n = length ?? 0
            if n > limits.maxBodyBytes { return fail(413, "body larger than allowed") }
            if n > 0 {
                state = .body(remaining: n)
                expectsBody = true
            }
        }

        if let expect = headers["Expect"] {
            guard asciiCaseInsensitiveEquals(String(trimOWS(Substring(expect))), "100-continue") else {
                return fail(417, "unsupported expectation")
            }
            if expectsBody { return .expectContinue }
        }
        if !expectsBody { return completeRequest() }
        return nil
    }

    private mutating func parseChunkSize(_ start: Int, _ end: Int) -> HTTPParseEvent? {
        chunkFraming += end - start + 2
        if chunkFraming > Self.chunkFramingGraceBytes && chunkFraming > body.count {
            return fail(400, "chunk framing larger than the data it carries")
        }
        var i = start
        var size = 0
        while i < end, let digit = hexValue(buffer[i]) {
            if i - start >= 15 { return fail(400, "chunk size too large") }
            size = size << 4 | Int(digit)
            i += 1
        }
        if i == start { return fail(400, "invalid chunk size") }
        // Optional chunk extensions: BWS ";" ... (ignored, but must be visible characters).
        while i < end, buffer[i] == 32 || buffer[i] == 9 { i += 1 }
        if i < end {
            if buffer[i] != UInt8(ascii: ";") { return fail(400, "invalid chunk size") }
            for j in i..<end {
                let b = buffer[j]
                if (b < 32 && b != 9) || b == 127 { return fail(400, "invalid chunk extension") }
            }
        }
        if size == 0 {
            headBytes = 0
            state = .trailers
            return nil
        }
        if size > limits.maxBodyBytes - body.count { return fail(413, "body larger than allowed") }
        state = .chunkData(remaining: size)
        return nil
    }

    private mutating func completeRequest() -> HTTPParseEvent {
        let request = HTTPRequest(method: method, target: target, version: version, headers: headers, body: body)
        state = .requestLine
        headBytes = 0
        headers = HTTPHeaders()
        body = []
        return .request(request)
    }
}

// MARK: - Character classes

@inline(__always)
func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

/// tchar from RFC 9110: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
@inline(__always)
func isTokenByte(_ b: UInt8) -> Bool {
    switch b {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: return true
    default: return false
    }
}

func isToken(_ s: String) -> Bool {
    !s.isEmpty && s.utf8.allSatisfy(isTokenByte)
}

/// 1*DIGIT without sign, spaces or other bases; nil on overflow.
func parseContentLength(_ s: Substring) -> Int? {
    if s.isEmpty || s.utf8.count > 18 { return nil }
    var n = 0
    for b in s.utf8 {
        guard isDigit(b) else { return nil }
        n = n * 10 + Int(b - 48)
    }
    return n
}

func asciiHasPrefixIgnoringCase(_ s: String, _ prefix: String) -> Bool {
    let p = Array(prefix.utf8)
    var i = 0
    for b in s.utf8 {
        if i == p.count { return true }
        let lb = (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
        if lb != p[i] { return false }
        i += 1
    }
    return i == p.count
}
