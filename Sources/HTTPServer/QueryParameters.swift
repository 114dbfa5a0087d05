/// Name/value pairs in `application/x-www-form-urlencoded` form: query strings and form bodies.
/// Repeated names keep every value in order (`status=active&status=paused`).
///
/// ```swift
/// let q = QueryParameters(parsing: "q=lfm+7b&status=active&status=paused")
/// q["q"]              // "lfm 7b"
/// q.all("status")     // ["active", "paused"]
/// ```
public struct QueryParameters {
    /// The decoded pairs in the order they appeared.
    public var pairs: [(name: String, value: String)]
    /// Whether a name or value decoded to bytes that are not UTF-8 (kept with U+FFFD in their
    /// place). A form should refuse such input rather than store the replacement.
    public private(set) var hasInvalidUTF8 = false

    /// Decodes `encoded`: pairs split on `&`, name and value on the first `=`, `+` becomes a
    /// space, percent escapes are decoded once, and malformed escapes are kept literally.
    /// Empty pieces (`a=1&&b=2`) are skipped. Never fails.
    public init(parsing encoded: String) {
        pairs = []
        let bytes = Array(encoded.utf8)
        for piece in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let name: ArraySlice<UInt8>
            let value: ArraySlice<UInt8>
            if let eq = piece.firstIndex(of: UInt8(ascii: "=")) {
                name = piece[piece.startIndex..<eq]
                value = piece[(eq + 1)...]
            } else {
                name = piece
                value = []
            }
            let decodedName = formDecode(name), decodedValue = formDecode(value)
            if !decodedName.valid || !decodedValue.valid { hasInvalidUTF8 = true }
            pairs.append((name: decodedName.text, value: decodedValue.text))
        }
    }

    /// Pairs given already decoded.
    public init(_ pairs: [(String, String)] = []) {
        self.pairs = pairs.map { (name: $0.0, value: $0.1) }
    }

    /// The first value for `name`, or nil.
    public subscript(_ name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    /// Every value for `name`, in order.
    public func all(_ name: String) -> [String] {
        pairs.compactMap { $0.name == name ? $0.value : nil }
    }

    /// Whether there are no pairs.
    public var isEmpty: Bool { pairs.isEmpty }

    /// The first name given more than once, or nil. A form field sent twice is ambiguous:
    /// which value would be meant?
    public var firstRepeatedName: String? {
        var seen = Set<String>()
        for pair in pairs where !seen.insert(pair.name).inserted { return pair.name }
        return nil
    }

    /// Encodes pairs for a URL query (without the leading `?`): everything but unreserved
    /// characters (`A-Z a-z 0-9 - . _ ~`) is percent-encoded, so the result is safe in any URL.
    ///
    /// ```swift
    /// QueryParameters.encode([("q", "a&b c"), ("page", "2")])   // "q=a%26b%20c&page=2"
    /// ```
    public static func encode(_ pairs: [(String, String)]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for (index, pair) in pairs.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            appendPair(pair.0, pair.1, to: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `name=value`, both percent-encoded, to `out` (for callers building a whole URL in one buffer).
    public static func appendPair(_ name: String, _ value: String, to out: inout [UInt8]) {
        percentEncode(name, into: &out)
        out.append(UInt8(ascii: "="))
        percentEncode(value, into: &out)
    }
}

extension QueryParameters {
    /// The most bytes `writePair` can write for `name` and `value`: every byte encoded.
    public static func pairLengthBound(_ name: String, _ value: String) -> Int {
        3 * (name.utf8.count + value.utf8.count) + 1
    }

    /// Writes `name=value`, both percent-encoded, into `buffer` from `at` (which moves past
    /// them); the buffer has `pairLengthBound` bytes of room.
    public static func writePair(_ name: String, _ value: String, into buffer: UnsafeMutableBufferPointer<UInt8>, at: inout Int) {
        percentEncode(name, into: buffer, at: &at)
        buffer[at] = UInt8(ascii: "=")
        at += 1
        percentEncode(value, into: buffer, at: &at)
    }
}

private let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

private func percentEncode(_ s: String, into buffer: UnsafeMutableBufferPointer<UInt8>, at: inout Int) {
    for byte in s.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "_"), UInt8(ascii: "~"):
            buffer[at] = byte
            at += 1
        default:
            buffer[at] = UInt8(ascii: "%")
            buffer[at + 1] = hexDigits[Int(byte >> 4)]
            buffer[at + 2] = hexDigits[Int(byte & 0x0F)]
            at += 3
        }
    }
}

private func percentEncode(_ s: String, into out: inout [UInt8]) {
    let start = out.count
    out.append(contentsOf: repeatElement(0, count: 3 * s.utf8.count))
    var at = start
    out.withUnsafeMutableBufferPointer { percentEncode(s, into: $0, at: &at) }
    out.removeLast(out.count - at)
}

@inline(__always)
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}

/// Decodes `%XX` escapes once; a `%` not followed by two hex digits stays as it is.
/// With `plusAsSpace`, `+` becomes a space (form encoding, not paths).
func percentDecodeBytes<C: Collection>(_ bytes: C, plusAsSpace: Bool) -> [UInt8] where C.Element == UInt8, C.Index == Int {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var i = bytes.startIndex
    let end = bytes.endIndex
    while i < end {
        let byte = bytes[i]
        if byte == UInt8(ascii: "%"), end - i >= 3, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
            out.append(hi << 4 | lo)
            i += 3
        } else if plusAsSpace && byte == UInt8(ascii: "+") {
            out.append(UInt8(ascii: " "))
            i += 1
        } else {
            out.append(byte)
            i += 1
        }
    }
    return out
}

/// The decoded text and whether its bytes were valid UTF-8 (if not, U+FFFD replaces them).
func formDecode(_ bytes: ArraySlice<UInt8>) -> (text: String, valid: Bool) {
    let decoded: [UInt8] = !bytes.contains(UInt8(ascii: "%")) && !bytes.contains(UInt8(ascii: "+"))
        ? Array(bytes) : percentDecodeBytes(bytes, plusAsSpace: true)
    if let text = String(validating: decoded, as: UTF8.self) { return (text, true) }
    return (String(decoding: decoded, as: UTF8.self), false)
}

/// Decodes a path (or path segment) once; `+` is literal in paths.
func percentDecodePath(_ s: Substring) -> String {
    if !s.utf8.contains(UInt8(ascii: "%")) { return String(s) }
    return String(decoding: percentDecodeBytes(Array(s.utf8), plusAsSpace: false), as: UTF8.self)
}
