import Foundation

/// The SQL dialect a connection speaks. Features branch on it only in named places.
public enum SQLDialect: Sendable {
    case sqlite, postgres
}

/// A value bound to a `$N` placeholder or read from a result column.
///
/// ```swift
/// try db.execute("UPDATE deployments SET target_replicas = $1 WHERE id = $2", [.int(3), SQLValue(id)])
/// ```
public enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case bool(Bool)
    case date(Date)

    /// An integer parameter.
    public init(_ value: Int) { self = .int(Int64(value)) }
    /// An integer parameter, or NULL.
    public init(_ value: Int?) { self = value.map { .int(Int64($0)) } ?? .null }
    /// A 64-bit integer parameter, or NULL.
    public init(_ value: Int64?) { self = value.map { .int($0) } ?? .null }
    /// A text parameter, or NULL.
    public init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    /// A floating-point parameter, or NULL.
    public init(_ value: Double?) { self = value.map { .double($0) } ?? .null }
    /// A boolean parameter, or NULL.
    public init(_ value: Bool?) { self = value.map { .bool($0) } ?? .null }
    /// A timestamp parameter (millisecond precision in storage), or NULL.
    public init(_ value: Date?) { self = value.map { .date($0) } ?? .null }

    /// True for `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

extension SQLValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
}

extension SQLValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self = .int(value) }
}

extension SQLValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension SQLValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension SQLValue: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) { self = .null }
}

extension SQLValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .null: return "NULL"
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .text(let v): return "'" + v + "'"
        case .bool(let v): return v ? "true" : "false"
        case .date(let v): return SQLTimestamp.iso8601(v)
        }
    }
}

/// `"v1.\(n).0"` as a text parameter.
extension SQLValue: ExpressibleByStringInterpolation {}
