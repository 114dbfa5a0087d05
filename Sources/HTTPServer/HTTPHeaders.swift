/// An ordered list of header fields. Names keep the spelling they were given; lookups ignore
/// ASCII case, as RFC 9110 requires.
///
/// ```swift
/// var headers = HTTPHeaders([("Content-Type", "text/plain")])
/// headers.add("Set-Cookie", "a=1")
/// headers["content-type"]   // "text/plain"
/// ```
public struct HTTPHeaders: Sequence, CustomStringConvertible {
    /// The fields in the order they were received or added.
    public private(set) var fields: [(name: String, value: String)]

    /// An empty header list.
    public init() {
        fields = []
    }

    /// A header list holding `pairs` in order.
    public init(_ pairs: [(String, String)]) {
        fields = pairs.map { (name: $0.0, value: $0.1) }
    }

    /// The value of the first field called `name`, or nil.
    public subscript(name: String) -> String? {
        for field in fields where asciiCaseInsensitiveEquals(field.name, name) {
            return field.value
        }
        return nil
    }

    /// Every value of the fields called `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.compactMap { asciiCaseInsensitiveEquals($0.name, name) ? $0.value : nil }
    }

    /// Whether a field called `name` is present.
    public func contains(_ name: String) -> Bool {
        fields.contains { asciiCaseInsensitiveEquals($0.name, name) }
    }

    /// Appends a field, keeping any existing ones with the same name.
    public mutating func add(_ name: String, _ value: String) {
        fields.append((name: name, value: value))
    }

    /// Replaces every field called `name` with a single one holding `value`.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        fields.append((name: name, value: value))
    }

    /// Removes every field called `name`.
    public mutating func remove(_ name: String) {
        fields.removeAll { asciiCaseInsensitiveEquals($0.name, name) }
    }

    /// The number of fields.
    public var count: Int { fields.count }

    /// Whether there are no fields.
    public var isEmpty: Bool { fields.isEmpty }

    /// Iterates the fields in order as `(name:, value:)` pairs.
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }

    /// One `Name: value` line per field.
    public var description: String {
        fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
    }

    /// The comma-separated list elements of every field called `name`, trimmed and lowercased,
    /// empty elements dropped (`Connection: keep-alive, Upgrade` -> ["keep-alive", "upgrade"]).
    func tokens(_ name: String) -> [String] {
        var result: [String] = []
        for value in values(name) {
            for part in value.split(separator: ",") {
                let token = trimOWS(Substring(part)).lowercased()
                if !token.isEmpty { result.append(token) }
            }
        }
        return result
    }
}

/// ASCII case-insensitive comparison, enough for header names and tokens, and much cheaper
/// than `lowercased()` on both sides.
func asciiCaseInsensitiveEquals(_ a: String, _ b: String) -> Bool {
    // Most lookups compare names of different lengths, which the count (stored for native
    // strings) settles without reading a byte.
    guard a.utf8.count == b.utf8.count else { return false }
    if let equal = a.utf8.withContiguousStorageIfAvailable({ x in
        b.utf8.withContiguousStorageIfAvailable { y in asciiCaseInsensitiveEquals(x, y) }
    }), let equal { return equal }
    var ia = a.utf8.makeIterator()
    var ib = b.utf8.makeIterator()
    while true {
        let ca = ia.next()
        let cb = ib.next()
        guard let x = ca, let y = cb else { return ca == nil && cb == nil }
        if x == y { continue }
        let lx = (x >= 0x41 && x <= 0x5A) ? x | 0x20 : x
        let ly = (y >= 0x41 && y <= 0x5A) ? y | 0x20 : y
        if lx != ly { return false }
    }
}

@inline(__always)
private func asciiCaseInsensitiveEquals(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Bool {
    for i in 0..<x.count where x[i] != y[i] {
        let lx = (x[i] >= 0x41 && x[i] <= 0x5A) ? x[i] | 0x20 : x[i]
        let ly = (y[i] >= 0x41 && y[i] <= 0x5A) ? y[i] | 0x20 : y[i]
        if lx != ly { return false }
    }
    return true
}

/// Strips optional whitespace (SP and HTAB) from both ends.
func trimOWS(_ s: Substring) -> Substring {
    var start = s.startIndex
    var end = s.endIndex
    while start < end, s[start] == " " || s[start] == "\t" { start = s.index(after: start) }
    while end > start {
        let before = s.index(before: end)
        if s[before] == " " || s[before] == "\t" { end = before } else { break }
    }
    return s[start..<end]
}
