import CSQLite
import Foundation
import Storage

private let transientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

private let emptyCString: UnsafePointer<CChar> = {
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
    p.pointee = 0
    return UnsafePointer(p)
}()

// Extended result codes are function-like macros in sqlite3.h and do not import.
private let constraintCheck = SQLITE_CONSTRAINT | (1 << 8)
private let constraintForeignKey = SQLITE_CONSTRAINT | (3 << 8)
private let constraintPrimaryKey = SQLITE_CONSTRAINT | (6 << 8)
private let constraintUnique = SQLITE_CONSTRAINT | (8 << 8)

/// One SQLite connection with its prepared-statement cache. Used by one thread at a time
/// (the pool guarantees it), so it is opened with `SQLITE_OPEN_NOMUTEX`.
final class SQLiteConnection: DatabaseConnection {
    /// A cached statement: the `$N` → bind-slot map and the column table are computed once.
    private final class Statement {
        let handle: OpaquePointer
        /// `slots[n - 1]` is the bind index of `$n` (0 when `$n` is not used).
        let slots: [Int32]
        var layout: Row.Columns?
        /// Values the last run returned: the next run reserves that much (up to
        /// `reservedValues`), where growing the array from empty took ten allocations a page.
        var lastValueCount = 0
        init(handle: OpaquePointer, slots: [Int32]) {
            self.handle = handle
            self.slots = slots
        }
    }

    /// When the running statement must stop (monotonic seconds); the progress handler reads it.
    private final class Deadline {
        var at = Double.infinity
    }

    let dialect: SQLDialect = .sqlite
    private(set) var handle: OpaquePointer?
    private let deadline = Deadline()
    /// Seconds one `query`/`execute` may run; 0 = no limit. PostgreSQL's `statement_timeout`.
    private let statementTimeout: Double
    private var cache: [String: Statement] = [:]
    private let cacheLimit = 256

    init(path: String, busyTimeoutMs: Int32, statementTimeoutMs: Int = 0) throws {
        statementTimeout = Double(max(0, statementTimeoutMs)) / 1000
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw DatabaseError.unavailable("cannot open SQLite database at \(path): \(message)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMs)
        // Cached statements stay prepared: every list query binds its status filter, and
        // the planner, comparing it with the partial indexes, made each run a fresh prepare
        // (some 300 allocations and a sixth of a table page's time).
        csqlite_enable_stable_plans(db)
        if statementTimeout > 0 {
            // Called every ~1,000 virtual-machine steps: a runaway query is interrupted
            // (SQLITE_INTERRUPT) once past its deadline instead of holding its thread for ever.
            sqlite3_progress_handler(db, 1000, { context in
                guard let context else { return 0 }
                let deadline = Unmanaged<Deadline>.fromOpaque(context).takeUnretainedValue()
                return monotonicSeconds() > deadline.at ? 1 : 0
            }, Unmanaged.passUnretained(deadline).toOpaque())
        }
        do {
            // cache_spill: a transaction keeps up to 64 MiB of changed pages in memory before
            // writing any to the log early (beyond the 2 MiB cache, which still bounds clean
            // pages). The runner's tick changes ~30 MB of sort-index pages on a 100,000-row
            // table; spilled at 2 MiB, pages were written, evicted and read back again, a
            // quarter of each bucket's time.
            try executeScript("""
                PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;
                PRAGMA cache_spill = \(Self.spillPages);
                """)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    func close() {
        for statement in cache.values { sqlite3_finalize(statement.handle) }
        cache.removeAll()
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// True while a transaction is open (so the pool must not reuse the connection as is).
    var inTransaction: Bool {
        guard let handle else { return false }
        return sqlite3_get_autocommit(handle) == 0
    }

    // MARK: DatabaseConnection

    func query(_ sql: String, _ parameters: [SQLValue]) throws -> [Row] {
        let statement = try prepare(sql)
        let stmt = statement.handle
        startDeadline()
        defer {
            deadline.at = .infinity
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
        }
        try bind(statement, parameters, sql: sql)
        var values: [SQLValue] = []
        values.reserveCapacity(min(statement.lastValueCount, Self.reservedValues))
        let count = sqlite3_column_count(stmt)
        let layout: Row.Columns
        if let cached = statement.layout, cached.names.count == Int(count) {
            layout = cached
        } else {
            layout = Row.Columns((0..<count).map { String(cString: sqlite3_column_name(stmt, $0)) })
            statement.layout = layout
        }
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error(code: rc, sql: sql) }
            for i in 0..<count {
                values.append(column(stmt, i))
            }
        }
        statement.lastValueCount = values.count
        return Row.rows(layout: layout, flat: values, width: Int(count))
    }

    /// The most values a query reserves room for before reading: a page of any table, not a
    /// one-off export's worth held for every later run.
    static let reservedValues = 4_096

    /// Changed pages a transaction may hold before some are written to the log early.
    static let spillPages = 16_384

    /// Pages this connection wrote to the log before their transaction's commit, since it opened.
    var cacheSpills: Int {
        var current: Int32 = 0, highest: Int32 = 0
        guard let handle, sqlite3_db_status(handle, SQLITE_DBSTATUS_CACHE_SPILL, &current, &highest, 0) == SQLITE_OK else { return 0 }
        return Int(current)
    }

    /// How many times the cached statement for `sql` was prepared again since it was cached
    /// (nil when it is not cached): for tests that a statement stays prepared.
    func repreparations(of sql: String) -> Int? {
        cache[sql].map { Int(sqlite3_stmt_status($0.handle, Int32(SQLITE_STMTSTATUS_REPREPARE), 0)) }
    }

    @discardableResult
    func execute(_ sql: String, _ parameters: [SQLValue]) throws -> Int {
        let statement = try prepare(sql)
        let stmt = statement.handle
        startDeadline()
        defer {
            deadline.at = .infinity
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
        }
        try bind(statement, parameters, sql: sql)
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error(code: rc, sql: sql) }
        }
        // Statements that do not modify rows (SELECT, DDL) leave sqlite3_changes at the previous value.
        return sqlite3_stmt_readonly(stmt) != 0 ? 0 : Int(sqlite3_changes64(try open()))
    }

    func executeScript(_ sql: String) throws {
        let db = try open()
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &message)
        let text = message.map { String(cString: $0) }
        sqlite3_free(message)
        if rc != SQLITE_OK {
            throw error(code: sqlite3_extended_errcode(db), sql: sql, message: text)
        }
    }

    // MARK: Statements

    private func open() throws -> OpaquePointer {
        guard let handle else { throw DatabaseError.unavailable("SQLite connection is closed") }
        return handle
    }

    private func prepare(_ sql: String) throws -> Statement {
        if let cached = cache[sql] { return cached }
        let db = try open()
        var stmt: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        let rc = sql.withCString { cString in
            let rc = sqlite3_prepare_v3(db, cString, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, &tail)
            // Anything but whitespace or comments after the first statement would be silently ignored.
            if rc == SQLITE_OK, let tail, tail.pointee != 0,
               String(cString: tail).trimmingCharacters(in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: ";"))) != "" {
                return SQLITE_MISUSE
            }
            return rc
        }
        guard rc == SQLITE_OK, let stmt else {
            if let stmt { sqlite3_finalize(stmt) }
            if rc == SQLITE_MISUSE {
                throw DatabaseError.query(message: "several statements in one call; use executeScript for scripts", sql: sql)
            }
            if stmt == nil && rc == SQLITE_OK {
                throw DatabaseError.query(message: "empty statement", sql: sql)
            }
            throw error(code: sqlite3_extended_errcode(db), sql: sql)
        }
        let count = sqlite3_bind_parameter_count(stmt)
        var highest = 0
        var named: [(Int, Int32)] = []
        if count > 0 {
            for slot in 1...count {
                let name = sqlite3_bind_parameter_name(stmt, slot).map { String(cString: $0) } ?? "?"
                guard name.hasPrefix("$"), let n = Int(name.dropFirst()), n >= 1 else {
                    sqlite3_finalize(stmt)
                    throw DatabaseError.query(message: "placeholder \(name) is not of the form $1, $2 …", sql: sql)
                }
                highest = max(highest, n)
                named.append((n, slot))
            }
        }
        var slots = [Int32](repeating: 0, count: highest)
        for (n, slot) in named { slots[n - 1] = slot }
        if cache.count >= cacheLimit {
            // A full cache means ad-hoc SQL; start over rather than track recency on the hot path.
            for statement in cache.values { sqlite3_finalize(statement.handle) }
            cache.removeAll(keepingCapacity: true)
        }
        let statement = Statement(handle: stmt, slots: slots)
        cache[sql] = statement
        return statement
    }

    private func bind(_ statement: Statement, _ parameters: [SQLValue], sql: String) throws {
        // Same rule as PostgreSQL: every $N up to the highest used needs a value; extra values
        // are ignored.
        guard parameters.count >= statement.slots.count else {
            throw DatabaseError.query(
                message: "statement uses $\(statement.slots.count) but only \(parameters.count) parameter(s) were supplied",
                sql: sql)
        }
        let stmt = statement.handle
        for (i, value) in parameters.prefix(statement.slots.count).enumerated() {
            let slot = statement.slots[i]
            if slot == 0 { continue }
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(stmt, slot)
            case .int(let v): rc = sqlite3_bind_int64(stmt, slot, v)
            case .double(let d): rc = sqlite3_bind_double(stmt, slot, d)
            case .bool(let b): rc = sqlite3_bind_int64(stmt, slot, b ? 1 : 0)
            case .date(let d): rc = sqlite3_bind_int64(stmt, slot, SQLTimestamp.milliseconds(d))
            case .text(let s):
                var s = s
                rc = s.withUTF8 { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { chars in
                        // An empty string still needs a non-NULL pointer, or SQLite stores NULL.
                        sqlite3_bind_text(stmt, slot, chars.baseAddress ?? emptyCString, Int32(chars.count), transientDestructor)
                    }
                }
            }
            if rc != SQLITE_OK { throw error(code: rc, sql: sql) }
        }
    }

    private func column(_ stmt: OpaquePointer, _ i: Int32) -> SQLValue {
        switch sqlite3_column_type(stmt, i) {
        case SQLITE_INTEGER: return .int(sqlite3_column_int64(stmt, i))
        case SQLITE_FLOAT: return .double(sqlite3_column_double(stmt, i))
        case SQLITE_NULL: return .null
        default:
            // TEXT, or a BLOB read as UTF-8 (the app stores no binary data).
            guard let bytes = sqlite3_column_text(stmt, i) else { return .text("") }
            let length = Int(sqlite3_column_bytes(stmt, i))
            return .text(String(decoding: UnsafeBufferPointer(start: bytes, count: length), as: UTF8.self))
        }
    }

    private func startDeadline() {
        if statementTimeout > 0 { deadline.at = monotonicSeconds() + statementTimeout }
    }

    // MARK: Errors

    func error(code: Int32, sql: String, message: String? = nil) -> DatabaseError {
        let text = message ?? handle.map { String(cString: sqlite3_errmsg($0)) } ?? "SQLite error \(code)"
        switch code {
        case constraintUnique, constraintPrimaryKey:
            return .uniqueViolation(constraint: uniqueConstraintName(from: text, primaryKey: code == constraintPrimaryKey), message: text)
        case constraintForeignKey:
            return .foreignKeyViolation(message: text)
        case constraintCheck:
            let prefix = "CHECK constraint failed: "
            let name = text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : nil
            return .checkViolation(constraint: name, message: text)
        default:
            // ON DELETE RESTRICT is implemented as a trigger (SQLITE_CONSTRAINT_TRIGGER).
            if code & 0xff == SQLITE_CONSTRAINT && text.hasPrefix("FOREIGN KEY constraint failed") {
                return .foreignKeyViolation(message: text)
            }
            switch code & 0xff {
            case SQLITE_INTERRUPT:
                return .timeout("SQLite statement ran past its \(Int(statementTimeout * 1000)) ms deadline")
            case SQLITE_BUSY, SQLITE_LOCKED:
                return .timeout("SQLite database is locked: \(text)")
            case SQLITE_CANTOPEN, SQLITE_IOERR, SQLITE_FULL, SQLITE_CORRUPT, SQLITE_NOTADB:
                return .unavailable("SQLite: \(text)")
            default:
                return .query(message: text, sql: sql)
            }
        }
    }

    /// SQLite names the columns ("UNIQUE constraint failed: deployments.job_id"), not the index.
    /// Find the unique index on exactly those columns so callers see the same name as on
    /// PostgreSQL: explicit indexes keep their name, UNIQUE constraints become `<table>_<cols>_key`
    /// and primary keys `<table>_pkey`, PostgreSQL's default names.
    private func uniqueConstraintName(from message: String, primaryKey: Bool) -> String? {
        if let range = message.range(of: "index '") {
            return String(message[range.upperBound...].prefix { $0 != "'" })
        }
        let prefix = "UNIQUE constraint failed: "
        guard message.hasPrefix(prefix) else { return nil }
        let columns = message.dropFirst(prefix.count).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = columns.first, let dot = first.firstIndex(of: ".") else { return nil }
        let table = String(first[..<dot])
        let names = columns.map { c in c.firstIndex(of: ".").map { String(c[c.index(after: $0)...]) } ?? c }
        // Includes rowid-alias INTEGER PRIMARY KEYs, which have no index.
        if primaryKey { return "\(table)_pkey" }
        guard let indexes = try? pragmaRows("PRAGMA index_list(\(quote(table)))") else { return nil }
        var candidates: [(name: String, origin: String)] = []
        for index in indexes where (try? index.int("unique")) == 1 {
            guard let name = try? index.string("name"),
                  let info = try? pragmaRows("PRAGMA index_info(\(quote(name)))") else { continue }
            let indexColumns = info.sorted { ((try? $0.int("seqno")) ?? 0) < ((try? $1.int("seqno")) ?? 0) }
                .compactMap { try? $0.string("name") }
            if indexColumns == names {
                candidates.append((name, (try? index.string("origin")) ?? "c"))
            }
        }
        guard let chosen = candidates.first(where: { $0.origin == "c" }) ?? candidates.first else { return nil }
        switch chosen.origin {
        case "pk": return "\(table)_pkey"
        case "u": return "\(table)_\(names.joined(separator: "_"))_key"
        default: return chosen.name
        }
    }

    private func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Runs a PRAGMA outside the statement cache (error path only).
    private func pragmaRows(_ sql: String) throws -> [Row] {
        let db = try open()
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
            sqlite3_finalize(stmt)
            return []
        }
        defer { sqlite3_finalize(stmt) }
        let count = sqlite3_column_count(stmt)
        let layout = Row.Columns((0..<count).map { String(cString: sqlite3_column_name(stmt, $0)) })
        var rows: [Row] = []
        while sqlite3_step(stmt) == SQLITE_ROW {
            rows.append(Row(layout: layout, values: (0..<count).map { column(stmt, $0) }))
        }
        return rows
    }
}

private func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1_000_000_000
}
