import Foundation

/// One result row. Column names are shared by every row of a result set; values are decoded
/// eagerly by the driver, so a `Row` outlives the statement that produced it.
///
/// ```swift
/// let row = try db.queryOne("SELECT id, name FROM models WHERE slug = $1", [.text(slug)])
/// let name = try row?.string("name")
/// ```
public struct Row: Sendable {
    /// Column names and their positions, built once per result set.
    public final class Columns: @unchecked Sendable {
        /// Names in result order.
        public let names: [String]
        /// Only for results wider than `scanned` columns: a scan that compares lengths first
        /// rejects almost every other name at once, where hashing cost every result a table
        /// and every lookup a SipHash of the name.
        private let index: [String: Int]?
        /// Each name's UTF-8 length, what the scan compares first (without touching the name).
        private let lengths: [Int]
        private static let scanned = 48

        /// On duplicate names the first column wins.
        public init(_ names: [String]) {
            self.names = names
            lengths = names.map(\.utf8.count)
            guard names.count > Self.scanned else {
                index = nil
                return
            }
            var index = [String: Int](minimumCapacity: names.count)
            for (i, name) in names.enumerated() where index[name] == nil {
                index[name] = i
            }
            self.index = index
        }

        /// The position of `name`, if present.
        public func position(of name: String) -> Int? {
            if let index { return index[name] }
            let length = name.utf8.count
            return lengths.withUnsafeBufferPointer { lengths in
                var i = 0
                while i < lengths.count {
                    if lengths[i] == length && names[i] == name { return i }
                    i += 1
                }
                return nil
            }
        }
    }

    /// The shared column table.
    public let layout: Columns
    /// Values in column order: drivers give every row a slice of one array for the whole result,
    /// so n rows cost one allocation rather than n.
    public let cells: ArraySlice<SQLValue>
    /// Values in column order, as an array of their own.
    public var values: [SQLValue] { Array(cells) }

    /// A row over a shared column table and a slice of the result's values (what drivers use).
    public init(layout: Columns, cells: ArraySlice<SQLValue>) {
        self.layout = layout
        self.cells = cells
    }

    /// A row over a shared column table.
    public init(layout: Columns, values: [SQLValue]) {
        self.init(layout: layout, cells: values[...])
    }

    /// Cuts a result's values, `width` to a row in row order, into rows.
    public static func rows(layout: Columns, flat values: [SQLValue], width: Int) -> [Row] {
        guard width > 0 else { return [] }
        let count = values.count / width
        var rows: [Row] = []
        rows.reserveCapacity(count)
        var start = 0
        for _ in 0..<count {
            rows.append(Row(layout: layout, cells: values[start..<(start + width)]))
            start += width
        }
        return rows
    }

    /// A standalone row, handy in tests.
    public init(columns: [String], values: [SQLValue]) {
        self.init(layout: Columns(columns), values: values)
    }

    /// Column names in result order.
    public var columns: [String] { layout.names }

    /// The value of `column`, or `.null` if there is no such column.
    public subscript(_ column: String) -> SQLValue {
        guard let i = layout.position(of: column), i < cells.count else { return .null }
        return cells[cells.startIndex + i]
    }

    /// The value at `index`, or `.null` if out of range.
    public subscript(index index: Int) -> SQLValue {
        index >= 0 && index < cells.count ? cells[cells.startIndex + index] : .null
    }

    // MARK: Typed accessors

    /// An integer; accepts integral doubles, numeric text and booleans. Throws on NULL or mismatch.
    public func int(_ column: String) throws -> Int {
        guard let v = try optionalInt(column) else { throw missing(column) }
        return v
    }

    /// An integer or nil for NULL.
    public func optionalInt(_ column: String) throws -> Int? {
        switch self[column] {
        case .null: return nil
        case .int(let v):
            guard let i = Int(exactly: v) else { throw mismatch(column, "integer \(v) out of range") }
            return i
        case .double(let d):
            guard let i = Int(exactly: d) else { throw mismatch(column, "\(d) is not an integer") }
            return i
        case .text(let s):
            guard let i = Int(s) else { throw mismatch(column, "text is not an integer") }
            return i
        case .bool(let b): return b ? 1 : 0
        case .date: throw mismatch(column, "expected an integer, found a timestamp")
        }
    }

    /// A floating-point number; accepts integers and numeric text. Throws on NULL or mismatch.
    public func double(_ column: String) throws -> Double {
        guard let v = try optionalDouble(column) else { throw missing(column) }
        return v
    }

    /// A floating-point number or nil for NULL.
    public func optionalDouble(_ column: String) throws -> Double? {
        switch self[column] {
        case .null: return nil
        case .int(let v): return Double(v)
        case .double(let d): return d
        case .text(let s):
            guard let d = Double(s) else { throw mismatch(column, "text is not a number") }
            return d
        case .bool, .date: throw mismatch(column, "expected a number")
        }
    }

    /// Text; numbers are rendered in their usual form. Throws on NULL.
    public func string(_ column: String) throws -> String {
        guard let v = try optionalString(column) else { throw missing(column) }
        return v
    }

    /// Text or nil for NULL.
    public func optionalString(_ column: String) throws -> String? {
        switch self[column] {
        case .null: return nil
        case .text(let s): return s
        case .int(let v): return String(v)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "true" : "false"
        case .date(let d): return SQLTimestamp.iso8601(d)
        }
    }

    /// A boolean; accepts PostgreSQL `t`/`f` and SQLite 0/1. Throws on NULL or mismatch.
    public func bool(_ column: String) throws -> Bool {
        guard let v = try optionalBool(column) else { throw missing(column) }
        return v
    }

    /// A boolean or nil for NULL.
    public func optionalBool(_ column: String) throws -> Bool? {
        switch self[column] {
        case .null: return nil
        case .bool(let b): return b
        case .int(let v):
            guard v == 0 || v == 1 else { throw mismatch(column, "integer \(v) is not a boolean") }
            return v == 1
        case .text(let s):
            switch s.lowercased() {
            case "t", "true", "1", "yes", "on": return true
            case "f", "false", "0", "no", "off": return false
            default: throw mismatch(column, "text is not a boolean")
            }
        case .double, .date: throw mismatch(column, "expected a boolean")
        }
    }

    /// A timestamp; reads integer unix milliseconds (SQLite), REAL unix seconds and ISO-8601 text.
    public func date(_ column: String) throws -> Date {
        guard let v = try optionalDate(column) else { throw missing(column) }
        return v
    }

    /// A timestamp or nil for NULL.
    public func optionalDate(_ column: String) throws -> Date? {
        switch self[column] {
        case .null: return nil
        case .date(let d): return d
        case .int(let ms): return SQLTimestamp.date(milliseconds: ms)
        case .double(let seconds): return Date(timeIntervalSince1970: seconds)
        case .text(let s):
            guard let d = SQLTimestamp.parse(s) else { throw mismatch(column, "text is not a timestamp") }
            return d
        case .bool: throw mismatch(column, "expected a timestamp")
        }
    }

    private func missing(_ column: String) -> DatabaseError {
        if layout.position(of: column) == nil {
            return .decoding(column: column, message: "no such column in result (have: \(columns.joined(separator: ", ")))")
        }
        return .decoding(column: column, message: "unexpected NULL")
    }

    private func mismatch(_ column: String, _ message: String) -> DatabaseError {
        .decoding(column: column, message: message)
    }
}
