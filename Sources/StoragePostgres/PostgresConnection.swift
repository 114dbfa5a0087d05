import CLibPQ
import Foundation
import RunSlots
import Storage

// Type OIDs (pg_type.dat) used for parameters and result decoding.
enum PostgresType {
    static let bool: Oid = 16
    static let int8: Oid = 20
    static let int2: Oid = 21
    static let int4: Oid = 23
    static let oid: Oid = 26
    static let float4: Oid = 700
    static let float8: Oid = 701
    static let date: Oid = 1082
    static let timestamp: Oid = 1114
    static let timestamptz: Oid = 1184
    static let numeric: Oid = 1700
}

private let diagSQLState = Int32(UInt8(ascii: "C"))
private let diagConstraintName = Int32(UInt8(ascii: "n"))
private let diagMessagePrimary = Int32(UInt8(ascii: "M"))

/// One libpq connection. Used by one thread at a time (the pool guarantees it).
final class PostgresConnection: DatabaseConnection {
    let dialect: SQLDialect = .postgres
    private var handle: OpaquePointer?
    /// Set once a connection-level failure is seen: the pool must discard this connection.
    private(set) var broken = false

    init(conninfo: String, setup: String) throws {
        guard let conn = RunSlots.whileBlocked({ PQconnectdb(conninfo) }) else {
            throw DatabaseError.unavailable("PostgreSQL: out of memory while connecting")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(conn)
            throw DatabaseError.unavailable("cannot connect to PostgreSQL: \(message)")
        }
        // NOTICEs (e.g. "relation already exists, skipping") would otherwise go to stderr.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        handle = conn
        do {
            try executeScript(setup)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// Reusable: connected and not inside a transaction.
    var isReusable: Bool {
        guard let handle, !broken else { return false }
        return PQstatus(handle) == CONNECTION_OK && PQtransactionStatus(handle) == PQTRANS_IDLE
    }

    /// True while a transaction block is open (idle, active or failed).
    var inTransaction: Bool {
        guard let handle else { return false }
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    // MARK: DatabaseConnection

    func query(_ sql: String, _ parameters: [SQLValue]) throws -> [Row] {
        try query(sql, parameters, prepared: true)
    }

    /// `prepared: false` sends the statement unnamed (parse, bind and execute in one round
    /// trip), so the server plans it for these values and keeps nothing.
    func query(_ sql: String, _ parameters: [SQLValue], prepared: Bool) throws -> [Row] {
        let result = try run(sql, parameters, prepared: prepared)
        defer { PQclear(result) }
        return decodeRows(result)
    }

    @discardableResult
    func execute(_ sql: String, _ parameters: [SQLValue]) throws -> Int {
        let result = try run(sql, parameters)
        defer { PQclear(result) }
        // For a plain SELECT PQcmdTuples is the row count; nothing was affected (as on SQLite).
        if strncmp(PQcmdStatus(result), "SELECT", 6) == 0 { return 0 }
        return Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    func executeScript(_ sql: String) throws {
        let conn = try open()
        let result = RunSlots.whileBlocked { PQexec(conn, sql) }
        defer { PQclear(result) }
        try check(result, conn: conn, sql: sql)
    }

    /// The command tag of the last statement, e.g. `COMMIT` or `ROLLBACK`.
    func command(_ sql: String) throws -> String {
        let conn = try open()
        let result = RunSlots.whileBlocked { PQexec(conn, sql) }
        defer { PQclear(result) }
        try check(result, conn: conn, sql: sql)
        return String(cString: PQcmdStatus(result))
    }

    // MARK: Execution

    private func open() throws -> OpaquePointer {
        guard let handle, !broken else { throw DatabaseError.unavailable("PostgreSQL connection is closed") }
        return handle
    }

    /// A statement prepared on this connection, by its text and parameter types (a type is fixed
    /// when it is prepared, so the same text with other types is another statement).
    private struct StatementKey: Hashable {
        let sql: String
        let types: [Oid]
    }
    private var prepared: [StatementKey: String] = [:]
    private var nextStatement = 0
    /// Ad-hoc SQL past this many statements starts the cache over rather than grow it.
    private static let preparedLimit = 256

    private func run(_ sql: String, _ parameters: [SQLValue], prepared usePrepared: Bool = true, retryStale: Bool = true) throws -> OpaquePointer {
        let conn = try open()
        var types = [Oid](repeating: 0, count: parameters.count)
        var texts = [UnsafeMutablePointer<CChar>?](repeating: nil, count: parameters.count)
        defer { for text in texts { free(text) } }
        for (i, value) in parameters.enumerated() {
            let encoded: String?
            switch value {
            case .null: encoded = nil
            case .int(let v): encoded = String(v); types[i] = PostgresType.int8
            case .double(let d): encoded = Self.encode(d); types[i] = PostgresType.float8
            case .bool(let b): encoded = b ? "t" : "f"; types[i] = PostgresType.bool
            case .date(let d): encoded = SQLTimestamp.iso8601(d); types[i] = PostgresType.timestamptz
            case .text(let s): encoded = s
            }
            texts[i] = encoded.map { strdup($0) }
        }
        func withValues(_ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> OpaquePointer?) -> OpaquePointer? {
            texts.withUnsafeBufferPointer { values in
                values.withMemoryRebound(to: UnsafePointer<CChar>?.self) { body($0.baseAddress) }
            }
        }
        if !usePrepared {
            return try checked(RunSlots.whileBlocked { withValues { PQexecParams(conn, sql, Int32(parameters.count), types, $0, nil, nil, 0) } }, conn: conn, sql: sql)
        }
        // Prepared once per connection: later runs skip parsing and planning on the server.
        let key = StatementKey(sql: sql, types: types)
        let name: String
        if let known = prepared[key] {
            name = known
        } else {
            if prepared.count >= Self.preparedLimit { try deallocateAll(conn) }
            nextStatement += 1
            name = "ty_\(nextStatement)"
            let made = RunSlots.whileBlocked { PQprepare(conn, name, sql, Int32(parameters.count), types) }
            defer { PQclear(made) }
            try check(made, conn: conn, sql: sql)
            prepared[key] = name
        }
        // Each round trip steps aside from its running slot: the CPU is the server's meanwhile.
        let result = RunSlots.whileBlocked { withValues { PQexecPrepared(conn, name, Int32(parameters.count), $0, nil, nil, 0) } }
        if retryStale, let failed = result, Self.isStalePlan(failed), !inTransaction {
            // A migration changed what the statement returns: prepare it afresh, once.
            PQclear(failed)
            prepared[key] = nil
            PQclear(RunSlots.whileBlocked { PQexec(conn, "DEALLOCATE \(name)") })
            return try run(sql, parameters, retryStale: false)
        }
        return try checked(result, conn: conn, sql: sql)
    }

    /// `result` when it succeeded; otherwise it is cleared and the error thrown.
    private func checked(_ result: OpaquePointer?, conn: OpaquePointer, sql: String) throws -> OpaquePointer {
        do {
            try check(result, conn: conn, sql: sql)
        } catch {
            PQclear(result)
            throw error
        }
        return result!
    }

    /// "cached plan must not change result type": the table under a prepared statement changed.
    private static func isStalePlan(_ result: OpaquePointer) -> Bool {
        guard PQresultStatus(result) == PGRES_FATAL_ERROR, let state = PQresultErrorField(result, diagSQLState) else { return false }
        return String(cString: state) == "0A000"
    }

    private func deallocateAll(_ conn: OpaquePointer) throws {
        let result = RunSlots.whileBlocked { PQexec(conn, "DEALLOCATE ALL") }
        defer { PQclear(result) }
        try check(result, conn: conn, sql: "DEALLOCATE ALL")
        prepared.removeAll(keepingCapacity: true)
    }

    /// Float text that PostgreSQL's float8 input accepts, exponents included.
    static func encode(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return String(d)
    }

    private func check(_ result: OpaquePointer?, conn: OpaquePointer, sql: String) throws {
        guard let result else {
            throw connectionError(conn, sql: sql)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return
        default:
            throw mapError(result, conn: conn, sql: sql)
        }
    }

    private func connectionError(_ conn: OpaquePointer, sql: String) -> DatabaseError {
        let message = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
        if PQstatus(conn) != CONNECTION_OK {
            broken = true
            return .unavailable("PostgreSQL connection lost: \(message)")
        }
        return .query(message: message, sql: sql)
    }

    private func mapError(_ result: OpaquePointer, conn: OpaquePointer, sql: String) -> DatabaseError {
        func field(_ code: Int32) -> String? {
            PQresultErrorField(result, code).map { String(cString: $0) }
        }
        let sqlstate = field(diagSQLState) ?? ""
        var message = field(diagMessagePrimary)
            ?? String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
        if message.isEmpty { message = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines) }
        let connectionLost = PQstatus(conn) != CONNECTION_OK
        if connectionLost { broken = true }
        switch sqlstate {
        case "23505": return .uniqueViolation(constraint: field(diagConstraintName), message: message)
        case "23503": return .foreignKeyViolation(message: message)
        case "23514": return .checkViolation(constraint: field(diagConstraintName), message: message)
        case "57014", "55P03": return .timeout(message)
        case "57P01", "57P02", "57P03":
            broken = true
            return .unavailable("PostgreSQL: \(message)")
        default:
            // 08P01 (protocol violation) is also what a wrong parameter count yields on a healthy connection.
            if (sqlstate.hasPrefix("08") && sqlstate != "08P01") || connectionLost {
                broken = true
                return .unavailable("PostgreSQL: \(message)")
            }
            return .query(message: sqlstate.isEmpty ? message : "\(message) (SQLSTATE \(sqlstate))", sql: sql)
        }
    }

    // MARK: Decoding

    private func decodeRows(_ result: OpaquePointer) -> [Row] {
        let rowCount = PQntuples(result)
        let fieldCount = PQnfields(result)
        guard rowCount > 0 else { return [] }
        let layout = Row.Columns((0..<fieldCount).map { String(cString: PQfname(result, $0)) })
        let types = (0..<fieldCount).map { PQftype(result, $0) }
        var values: [SQLValue] = []
        values.reserveCapacity(Int(rowCount) * Int(fieldCount))
        for r in 0..<rowCount {
            for f in 0..<fieldCount {
                if PQgetisnull(result, r, f) != 0 {
                    values.append(.null)
                    continue
                }
                let length = Int(PQgetlength(result, r, f))
                values.append(PQgetvalue(result, r, f).withMemoryRebound(to: UInt8.self, capacity: length) {
                    Self.decode(UnsafeBufferPointer(start: $0, count: length), type: types[Int(f)])
                })
            }
        }
        return Row.rows(layout: layout, flat: values, width: Int(fieldCount))
    }

    /// A value from its text bytes: timestamps are read from the bytes, as a 29-byte text each
    /// would otherwise be a heap string made only to be parsed.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, type: Oid) -> SQLValue {
        switch type {
        case PostgresType.timestamptz, PostgresType.timestamp, PostgresType.date:
            if let date = SQLTimestamp.parse(utf8: bytes) { return .date(date) }
        case PostgresType.bool:
            return .bool(bytes.count == 1 && bytes[0] == UInt8(ascii: "t"))
        default: break
        }
        return decode(String(decoding: bytes, as: UTF8.self), type: type)
    }

    static func decode(_ text: String, type: Oid) -> SQLValue {
        switch type {
        case PostgresType.int2, PostgresType.int4, PostgresType.int8, PostgresType.oid:
            return Int64(text).map(SQLValue.int) ?? .text(text)
        case PostgresType.float4, PostgresType.float8, PostgresType.numeric:
            return Double(text).map(SQLValue.double) ?? .text(text)
        case PostgresType.bool:
            return .bool(text == "t")
        case PostgresType.timestamptz, PostgresType.timestamp, PostgresType.date:
            return SQLTimestamp.parse(text).map(SQLValue.date) ?? .text(text)
        default:
            return .text(text)
        }
    }
}
