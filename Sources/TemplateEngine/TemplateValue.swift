import Synchronization

/// The typed value tree a template is rendered against.
///
/// Views build one of these per request; rendering never reflects over Swift values,
/// so the cost of a render depends only on the template and the tree. (Not `indirect`:
/// the payloads are already references or scalars, and an extra box per value doubled
/// the cost of building a page's tree and added a retain to every lookup.)
///
/// ```swift
/// let context: TemplateValue = ["title": "Deployments", "rows": [["name": "lfm-1"]]]
/// ```
public enum TemplateValue: Sendable, Equatable {
    /// Text; `{{x}}` escapes it for HTML, `{{{x}}}` writes it as is.
    case string(String)
    case bool(Bool)
    case int(Int)
    case double(Double)
    case list([TemplateValue])
    case object([String: TemplateValue])
    /// An object of a shape many share (a table's rows): the names once, the values in their
    /// order. Built without hashing a key, and looked up by comparing a handful of short names.
    case record(TemplateKeys, [TemplateValue])
    /// A list of records of one shape with their values laid end to end, `keys.names.count`
    /// to a row: a table of n rows is one array where `.list` of `.record`s is n + 1.
    case rows(TemplateKeys, [TemplateValue])
    /// A number the renderer writes through `formatter` straight into the page (escaped like
    /// any text): a time or figure printed on every row costs no string of its own.
    case formatted(TemplateFormatter, Int64)
    case null

    /// `.string(s)` when present, `.null` otherwise, so `{{#x}}` hides a missing value.
    public static func optional(_ value: String?) -> TemplateValue {
        value.map(TemplateValue.string) ?? .null
    }

    /// `.int(n)` when present, `.null` otherwise.
    public static func optional(_ value: Int?) -> TemplateValue {
        value.map(TemplateValue.int) ?? .null
    }

    /// `.double(d)` when present, `.null` otherwise.
    public static func optional(_ value: Double?) -> TemplateValue {
        value.map(TemplateValue.double) ?? .null
    }

    public init(_ value: String) { self = .string(value) }
    public init(_ value: Int) { self = .int(value) }
    public init(_ value: Double) { self = .double(value) }
    public init(_ value: Bool) { self = .bool(value) }
    /// A list of strings, e.g. the options of a select.
    public init(_ values: [String]) { self = .list(values.map(TemplateValue.string)) }
    public init(_ values: [TemplateValue]) { self = .list(values) }
    public init(_ values: [String: TemplateValue]) { self = .object(values) }

    /// Whether a section `{{#x}}` over this value renders its content.
    public var isTruthy: Bool {
        switch self {
        case .string(let s): return !s.isEmpty
        case .bool(let b): return b
        case .int(let n): return n != 0
        case .double(let d): return d != 0
        case .list(let items): return !items.isEmpty
        case .rows(_, let values): return !values.isEmpty
        case .object, .record, .formatted: return true
        case .null: return false
        }
    }

    /// A `.rows` of `records`, each in `keys`' order (a record short of names gets `.null` for the rest).
    public static func rows(_ keys: TemplateKeys, records: [[TemplateValue]]) -> TemplateValue {
        let width = keys.names.count
        var values: [TemplateValue] = []
        values.reserveCapacity(records.count * width)
        for record in records {
            values.append(contentsOf: record.prefix(width))
            if record.count < width { values.append(contentsOf: repeatElement(.null, count: width - record.count)) }
        }
        return .rows(keys, values)
    }

    /// The member `key` of an object, or nil.
    public subscript(key: String) -> TemplateValue? {
        switch self {
        case .object(let members): return members[key]
        case .record(let keys, let values): return keys.position(of: key).map { values[$0] }
        default: return nil
        }
    }
}

/// Writes a number as text for `.formatted`: at most `TemplateFormatter.capacity` bytes into
/// the buffer, returning how many it wrote. Made once per format (`static let`).
///
/// ```swift
/// static let iso = TemplateFormatter { seconds, buffer in write(seconds, into: buffer) }
/// .formatted(Self.iso, Int64(date.timeIntervalSince1970))
/// ```
public final class TemplateFormatter: Sendable, Equatable {
    /// The room a formatter is given; what it writes past this is cut off.
    public static let capacity = 64
    let write: @Sendable (Int64, UnsafeMutableBufferPointer<UInt8>) -> Int

    public init(_ write: @escaping @Sendable (Int64, UnsafeMutableBufferPointer<UInt8>) -> Int) {
        self.write = write
    }

    /// The text `value` formats to, as the renderer writes it (before escaping).
    public func text(_ value: Int64) -> String {
        String(unsafeUninitializedCapacity: Self.capacity) { buffer in
            min(max(write(value, buffer), 0), Self.capacity)
        }
    }

    /// Writes `n` in decimal at the start of `buffer` (20 bytes suffice), returning the count.
    public static func decimal(_ n: Int64, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var magnitude = n.magnitude
        var digits = 0
        repeat { digits += 1; magnitude /= 10 } while magnitude > 0
        let count = digits + (n < 0 ? 1 : 0)
        guard count <= buffer.count else { return 0 }
        if n < 0 { buffer[0] = UInt8(ascii: "-") }
        magnitude = n.magnitude
        var at = count - 1
        repeat {
            buffer[at] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            at -= 1
        } while magnitude > 0
        return count
    }

    public static func == (a: TemplateFormatter, b: TemplateFormatter) -> Bool { a === b }
}

/// The member names of a `.record` shape, made once per shape (`static let`).
///
/// ```swift
/// static let keys = TemplateKeys(["name", "href"])
/// .record(Self.keys, [.string(name), .string(href)])
/// ```
public final class TemplateKeys: @unchecked Sendable, Equatable {
    public let names: [String]
    /// `names` as `TemplateNames` numbers: a lookup compares integers, not strings. Kept in
    /// memory of their own, written once here, so a render can hold a pointer to them.
    let ids: UnsafeBufferPointer<Int>

    public init(_ names: [String]) {
        precondition(Set(names).count == names.count, "a record's names are distinct")
        self.names = names
        let ids = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(names.count, 1))
        for (i, name) in names.enumerated() { ids[i] = TemplateNames.id(name) }
        self.ids = UnsafeBufferPointer(rebasing: ids[0..<names.count])
    }

    deinit { ids.deallocate() }

    /// Where `name` is, or nil.
    public func position(of name: String) -> Int? {
        names.firstIndex(of: name)
    }

    /// Where the name numbered `id` is: a linear scan of integers, cheaper than hashing or
    /// comparing strings for the dozen or two names a row has.
    @inline(__always)
    func position(ofID id: Int) -> Int? {
        var i = 0
        while i < ids.count {
            if ids[i] == id { return i }
            i += 1
        }
        return nil
    }

    public static func == (a: TemplateKeys, b: TemplateKeys) -> Bool { a === b || a.names == b.names }
}

extension TemplateValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension TemplateValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension TemplateValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self = .int(value) }
}

extension TemplateValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension TemplateValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: TemplateValue...) { self = .list(elements) }
}

extension TemplateValue: ExpressibleByDictionaryLiteral {
    /// Later duplicates win, as in a dictionary assignment.
    public init(dictionaryLiteral elements: (String, TemplateValue)...) {
        var members = [String: TemplateValue](minimumCapacity: elements.count)
        for (key, value) in elements { members[key] = value }
        self = .object(members)
    }
}

extension TemplateValue: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) { self = .null }
}

/// Every name a template or a record uses, numbered once per process. Templates number their
/// tags' names when they load and records their keys when the shape is made (`static let`),
/// so rendering compares numbers. Numbers are never reused; the table only grows with the
/// distinct names in the templates and shapes, a few hundred.
enum TemplateNames {
    private static let table = Mutex<[String: Int]>([:])

    static func id(_ name: String) -> Int {
        table.withLock { table in
            if let id = table[name] { return id }
            let id = table.count
            table[name] = id
            return id
        }
    }
}
