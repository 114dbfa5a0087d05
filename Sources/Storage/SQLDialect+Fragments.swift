/// The few SQL fragments that differ between the dialects, named once here so feature code
/// never branches on the dialect itself.
extension SQLDialect {
    /// How a claimed row is locked for the rest of the transaction.
    public enum RowLock: Sendable {
        /// Other writers wait for the lock (a user's change to one row).
        case wait
        /// Rows another transaction holds are passed over (background work shared by replicas).
        case skipLocked
    }

    /// ` FOR UPDATE [OF table] [SKIP LOCKED]` on PostgreSQL; nothing on SQLite, whose writers are
    /// already serialised by `BEGIN IMMEDIATE`. Appended after a SELECT's LIMIT.
    ///
    /// ```swift
    /// "SELECT … FROM deployments d JOIN … WHERE d.id = $1" + conn.dialect.lockRows(of: "d")
    /// ```
    public func lockRows(of table: String? = nil, _ lock: RowLock = .wait) -> String {
        switch self {
        case .sqlite:
            return ""
        case .postgres:
            var clause = " FOR UPDATE"
            if let table { clause += " OF " + table }
            if lock == .skipLocked { clause += " SKIP LOCKED" }
            return clause
        }
    }

    /// The larger / smaller of two non-NULL expressions (SQLite's two-argument MAX and MIN are
    /// PostgreSQL's GREATEST and LEAST).
    public func greatest(_ a: String, _ b: String) -> String {
        self == .sqlite ? "MAX(\(a), \(b))" : "GREATEST(\(a), \(b))"
    }

    public func least(_ a: String, _ b: String) -> String {
        self == .sqlite ? "MIN(\(a), \(b))" : "LEAST(\(a), \(b))"
    }

    /// An expression giving a timestamp column as integer Unix milliseconds (SQLite stores them
    /// that way; PostgreSQL's are TIMESTAMPTZ).
    public func epochMilliseconds(_ column: String) -> String {
        switch self {
        case .sqlite: return column
        case .postgres: return "CAST(FLOOR(EXTRACT(EPOCH FROM \(column)) * 1000) AS BIGINT)"
        }
    }
}

/// Collects the values of a statement built in pieces and hands out their `$N` placeholders,
/// so a WHERE clause assembled from optional filters stays parameterised.
///
/// ```swift
/// var p = SQLParameters()
/// let sql = "SELECT id FROM jobs WHERE status = \(p.add(.text("queued"))) LIMIT \(p.add(.int(25)))"
/// try db.query(sql, p.values)
/// ```
public struct SQLParameters: Sendable {
    public private(set) var values: [SQLValue] = []

    public init() {}

    /// Appends `value` and returns its placeholder.
    public mutating func add(_ value: SQLValue) -> String {
        values.append(value)
        return "$\(values.count)"
    }

    /// Placeholders for each of `values`, comma-separated (for `IN (…)`).
    public mutating func list(_ values: [SQLValue]) -> String {
        values.map { add($0) }.joined(separator: ", ")
    }

    /// A placeholder for a lower-cased "contains" pattern of `text`, LIKE wildcards escaped so
    /// a search for `50%` matches the text, not everything. Compare with
    /// `LOWER(column) LIKE $n ESCAPE '\'`.
    public mutating func containsPattern(_ text: String) -> String {
        add(.text("%" + Self.likeEscaped(text.lowercased()) + "%"))
    }

    public static func likeEscaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            if c == "%" || c == "_" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }
}

/// Splits `count` rows into batches whose sizes are powers of two up to `largest`, largest
/// first, for multi-row statements: a statement's text depends on its row count, so this keeps
/// the texts (and PostgreSQL's prepared statements) to a dozen, whatever the counts.
public enum SQLBatches {
    public static func ranges(count: Int, largest: Int = 1024) -> [Range<Int>] {
        precondition(largest > 0 && largest & (largest - 1) == 0, "largest must be a power of two")
        var ranges: [Range<Int>] = []
        var start = 0
        while start < count {
            var size = largest
            while size > count - start { size >>= 1 }
            ranges.append(start..<start + size)
            start += size
        }
        return ranges
    }
}
