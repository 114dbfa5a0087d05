/// Every error the drivers throw. Messages may contain SQL and server text: log them, never show
/// them to users.
public enum DatabaseError: Error, CustomStringConvertible {
    /// A UNIQUE or PRIMARY KEY constraint failed. `constraint` is the index or constraint name
    /// (identical in both dialects for the app schema, e.g. `deployments_one_live_per_job`).
    case uniqueViolation(constraint: String?, message: String)
    /// A FOREIGN KEY constraint failed (insert of a dangling reference or RESTRICT on delete).
    case foreignKeyViolation(message: String)
    /// A CHECK constraint failed; `constraint` is its name when the database reports one.
    case checkViolation(constraint: String?, message: String)
    /// The database cannot be reached: connect failure, pool exhausted after a bounded wait,
    /// server shut down or restarted. The app answers 503.
    case unavailable(String)
    /// A statement or lock timeout.
    case timeout(String)
    /// Anything else, with the SQL for the log.
    case query(message: String, sql: String)
    /// A column could not be read as the requested type.
    case decoding(column: String, message: String)
    /// A migration failed (and was rolled back) or the migration list or schema is inconsistent.
    case migration(version: Int, name: String, message: String)

    public var description: String {
        switch self {
        case .uniqueViolation(let c, let m): return "unique violation" + (c.map { " on \($0)" } ?? "") + ": \(m)"
        case .foreignKeyViolation(let m): return "foreign key violation: \(m)"
        case .checkViolation(let c, let m): return "check violation" + (c.map { " on \($0)" } ?? "") + ": \(m)"
        case .unavailable(let m): return "database unavailable: \(m)"
        case .timeout(let m): return "database timeout: \(m)"
        case .query(let m, let sql): return "query failed: \(m) [SQL: \(sql)]"
        case .decoding(let c, let m): return "cannot decode column \(c): \(m)"
        case .migration(let v, let n, let m): return "migration \(v) (\(n)): \(m)"
        }
    }

    /// The constraint name of a unique or check violation, if any.
    public var constraint: String? {
        switch self {
        case .uniqueViolation(let c, _), .checkViolation(let c, _): return c
        default: return nil
        }
    }

    /// True for a unique violation on `constraint`.
    public func isUniqueViolation(on constraint: String) -> Bool {
        if case .uniqueViolation(let c, _) = self { return c == constraint }
        return false
    }
}

extension DatabaseError {
    /// The database could not be reached or answered too late: worth retrying, unlike a
    /// refused statement.
    public var isTransient: Bool {
        switch self {
        case .unavailable, .timeout: true
        default: false
        }
    }
}
