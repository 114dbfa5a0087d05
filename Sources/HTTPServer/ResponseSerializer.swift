#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Formats the `Date` header (IMF-fixdate) at most once per second per instance.
struct HTTPDateCache {
    private var second: time_t = -1
    private var cached = ""

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    mutating func current() -> String {
        let now = time(nil)
        if now != second {
            second = now
            cached = Self.format(now)
        }
        return cached
    }

    static func format(_ t: time_t) -> String {
        var t = t
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}

/// Why a handler's response could not be written as given.
struct InvalidResponseError: Error, CustomStringConvertible {
    let description: String
}

enum ResponseSerializer {
    /// Headers the server owns; values a handler sets for them are ignored.
    private static func isServerOwned(_ name: String) -> Bool {
        asciiCaseInsensitiveEquals(name, "Content-Length") || asciiCaseInsensitiveEquals(name, "Transfer-Encoding")
            || asciiCaseInsensitiveEquals(name, "Connection") || asciiCaseInsensitiveEquals(name, "Date")
    }

    /// Whether `value` may appear in a field value: no CR, LF, NUL or other control character
    /// except HTAB, so data can never split a header or start a new one.
    static func isValidFieldValue(_ value: String) -> Bool {
        if let valid = value.utf8.withContiguousStorageIfAvailable({ bytes in
            !bytes.contains { ($0 < 32 && $0 != 9) || $0 == 127 }
        }) { return valid }
        for b in value.utf8 where (b < 32 && b != 9) || b == 127 { return false }
        return true
    }

    /// Whether a response's body is sent as a stream: HTTP/1.1 chunks, or for an HTTP/1.0
    /// client bytes ended by closing the connection (which must then not be kept alive).
    static func isStreamed(_ response: HTTPResponse) -> Bool {
        response.stream != nil && response.status != 204 && response.status != 304
    }

    /// The bytes of a complete response (head and, unless `headOnly`, body), ready for one send.
    /// For a streamed response, the head only: its body follows chunk by chunk.
    static func serialize(_ response: HTTPResponse, headOnly: Bool, keepAlive: Bool, requestVersion: HTTPVersion, date: String) throws -> [UInt8] {
        let status = response.status
        guard status >= 200 && status <= 999 else {
            throw InvalidResponseError(description: "status \(status) cannot be sent as a final response")
        }
        for field in response.headers {
            guard isToken(field.name) else {
                throw InvalidResponseError(description: "invalid header name \(String(reflecting: field.name))")
            }
            guard isValidFieldValue(field.value) else {
                throw InvalidResponseError(description: "control character in value of header \(field.name)")
            }
        }
        let bodyless = status == 204 || status == 304
        let streamed = isStreamed(response)
        var out: [UInt8] = []
        out.reserveCapacity(160 + response.headers.count * 40 + ((headOnly || bodyless) ? 0 : response.body.count))
        if let line = statusLines[status] {
            out.append(contentsOf: line)
        } else {
            out.append(contentsOf: "HTTP/1.1 \(status) \(HTTPResponse.reasonPhrase(status))\r\n".utf8)
        }
        out.append(contentsOf: "Date: ".utf8)
        out.append(contentsOf: date.utf8)
        out.append(contentsOf: "\r\n".utf8)
        for field in response.headers where !isServerOwned(field.name) {
            out.append(contentsOf: field.name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: field.value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        if streamed {
            if requestVersion != .http10 { out.append(contentsOf: "Transfer-Encoding: chunked\r\n".utf8) }
        } else if !bodyless {
            out.append(contentsOf: "Content-Length: ".utf8)
            appendDecimal(response.body.count, to: &out)
            out.append(contentsOf: "\r\n".utf8)
        }
        if !keepAlive {
            out.append(contentsOf: "Connection: close\r\n".utf8)
        } else if requestVersion == .http10 {
            out.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        if !headOnly && !bodyless && !streamed {
            out.append(contentsOf: response.body)
        }
        return out
    }

    /// `HTTP/1.1 200 OK\r\n` and the like for the statuses handlers answer with, made once.
    private static let statusLines: [Int: [UInt8]] = Dictionary(uniqueKeysWithValues: [
        200, 201, 202, 204, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 406, 409, 410, 412, 413, 415, 422, 429,
        500, 502, 503, 504,
    ].map { ($0, Array("HTTP/1.1 \($0) \(HTTPResponse.reasonPhrase($0))\r\n".utf8)) })

    /// `n` (not negative) in decimal, without making a string.
    private static func appendDecimal(_ n: Int, to out: inout [UInt8]) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var value = n.magnitude
            var at = buffer.count
            repeat {
                at -= 1
                buffer[at] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            } while value > 0
            out.append(contentsOf: buffer[at...])
        }
    }

    /// A plain response the server produces itself (errors, 500, 503), always closing.
    static func plain(status: Int, date: String, retryAfter: Int? = nil) -> [UInt8] {
        let text = "\(status) \(HTTPResponse.reasonPhrase(status))\n"
        let retry = retryAfter.map { "Retry-After: \($0)\r\n" } ?? ""
        return Array(("HTTP/1.1 \(status) \(HTTPResponse.reasonPhrase(status))\r\nDate: \(date)\r\n" + retry
            + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: \(text.utf8.count)\r\nConnection: close\r\n\r\n" + text).utf8)
    }
}
