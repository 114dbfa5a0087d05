import Foundation

/// Parses the `Cookie` request header and builds `Set-Cookie` values.
enum Cookies {
    static func parse(_ header: String?) -> [String: String] {
        guard let header else { return [:] }
        var cookies: [String: String] = [:]
        // Byte by byte: every request parses this, and Foundation's trimming cost more than the rest of it.
        for part in header.utf8.split(separator: UInt8(ascii: ";")) {
            guard let equals = part.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = trimmed(part[part.startIndex..<equals])
            // The first occurrence wins, as browsers send the most specific path first.
            if cookies[name] == nil { cookies[name] = trimmed(part[part.index(after: equals)...]) }
        }
        return cookies
    }

    /// `bytes` without the spaces and tabs around it, as text.
    private static func trimmed(_ bytes: Substring.UTF8View.SubSequence) -> String {
        var slice = bytes[...]
        while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice = slice.dropLast() }
        return String(decoding: slice, as: UTF8.self)
    }

    /// A session-scoped, HttpOnly, SameSite=Lax cookie. Values here are base64url, so no quoting is needed.
    static func set(_ name: String, _ value: String, maxAge: Int? = nil, secure: Bool) -> String {
        var parts = ["\(name)=\(value)", "Path=/", "HttpOnly", "SameSite=Lax"]
        if let maxAge { parts.append("Max-Age=\(maxAge)") }
        if secure { parts.append("Secure") }
        return parts.joined(separator: "; ")
    }

    static func clear(_ name: String, secure: Bool) -> String {
        set(name, "", maxAge: 0, secure: secure)
    }
}
