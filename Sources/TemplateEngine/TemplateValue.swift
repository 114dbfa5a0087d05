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
        case .object, .record: return true
        case .null: return false
        }
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
