import Foundation
import Storage
import Testing
import TrainyardTestSupport

@Suite("Values round-trip through both drivers")
struct ValueTests {
    static func makeTable(_ db: Database) throws {
        try db.execute(sql(db,
            sqlite: "CREATE TABLE vals (id INTEGER PRIMARY KEY, i INTEGER, d REAL, s TEXT, b INTEGER, ts INTEGER)",
            postgres: "CREATE TABLE vals (id BIGINT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, s TEXT, b BOOLEAN, ts TIMESTAMPTZ)"))
    }

    static func insert(_ db: Database, _ id: Int, _ i: SQLValue, _ d: SQLValue, _ s: SQLValue, _ b: SQLValue, _ ts: SQLValue) throws {
        try db.execute("INSERT INTO vals (id, i, d, s, b, ts) VALUES ($1, $2, $3, $4, $5, $6)", [SQLValue(id), i, d, s, b, ts])
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func everyValueTypeRoundTrips(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Self.makeTable(db)
        let when = Date(timeIntervalSince1970: 1_714_567_890.123)
        let text = "Zürich — 東京 🚂 'quoted' \"double\" \\ back\nslash"
        try Self.insert(db, 1, .int(Int64.max), .double(1e-06), .text(text), .bool(true), .date(when))
        try Self.insert(db, 2, .int(Int64.min), .double(-2.5e300), .text(""), .bool(false), .date(Date(timeIntervalSince1970: -86_400.5)))
        try Self.insert(db, 3, nil, nil, nil, nil, nil)
        try Self.insert(db, 4, 0, .double(.infinity), "x", true, .date(Date(timeIntervalSince1970: 4_102_444_800.999)))

        let rows = try db.query("SELECT id, i, d, s, b, ts FROM vals ORDER BY id")
        #expect(rows.count == 4)
        #expect(rows[0].columns == ["id", "i", "d", "s", "b", "ts"])

        #expect(try rows[0].int("i") == Int.max)
        #expect(try rows[0].double("d") == 1e-06)
        #expect(try rows[0].string("s") == text)
        #expect(try rows[0].bool("b") == true)
        #expect(try rows[0].date("ts") == when)

        #expect(try rows[1].int("i") == Int.min)
        #expect(try rows[1].double("d") == -2.5e300)
        #expect(try rows[1].string("s") == "")
        #expect(try rows[1].optionalString("s") == "")
        #expect(try rows[1].bool("b") == false)
        #expect(try rows[1].date("ts") == Date(timeIntervalSince1970: -86_400.5))

        for column in ["i", "d", "s", "b", "ts"] {
            #expect(rows[2][column] == .null)
        }
        #expect(try rows[2].optionalInt("i") == nil)
        #expect(try rows[2].optionalDouble("d") == nil)
        #expect(try rows[2].optionalString("s") == nil)
        #expect(try rows[2].optionalDate("ts") == nil)

        #expect(try rows[3].int("i") == 0)
        #expect(try rows[3].double("d") == .infinity)
        #expect(try rows[3].date("ts") == Date(timeIntervalSince1970: 4_102_444_800.999))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func nullAndMismatchAccessThrowDecodingErrors(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Self.makeTable(db)
        try Self.insert(db, 1, nil, 2.5, "abc", nil, nil)
        let row = try #require(try db.queryOne("SELECT i, d, s, b, ts FROM vals"))
        #expect(errorCase(caught { _ = try row.int("i") }) == "decoding")
        #expect(errorCase(caught { _ = try row.int("s") }) == "decoding")
        #expect(errorCase(caught { _ = try row.int("d") }) == "decoding")
        #expect(errorCase(caught { _ = try row.bool("b") }) == "decoding")
        #expect(errorCase(caught { _ = try row.date("ts") }) == "decoding")
        #expect(errorCase(caught { _ = try row.string("missing") }) == "decoding")
        #expect(row["missing"] == .null)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func accessorsConvertSensibly(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Self.makeTable(db)
        try Self.insert(db, 1, 42, 3.0, "7", true, .date(Date(timeIntervalSince1970: 1)))
        let row = try #require(try db.queryOne("SELECT i, d, s, b, ts FROM vals"))
        #expect(try row.double("i") == 42)     // integer column read as double
        #expect(try row.int("d") == 3)         // integral double read as integer
        #expect(try row.int("s") == 7)         // numeric text
        #expect(try row.string("i") == "42")
        #expect(try row.bool("b"))             // SQLite 1, PostgreSQL t
        #expect(try row.date("ts") == Date(timeIntervalSince1970: 1))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func nanIsStoredAsNaNOnPostgresAndNullOnSQLite(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Self.makeTable(db)
        try Self.insert(db, 1, nil, .double(.nan), nil, nil, nil)
        try Self.insert(db, 2, nil, .double(-.infinity), nil, nil, nil)
        let rows = try db.query("SELECT d FROM vals ORDER BY id")
        if kind == .postgres {
            #expect(try rows[0].double("d").isNaN)
        } else {
            // SQLite has no NaN: it stores NULL. The app must not write NaN.
            #expect(rows[0]["d"] == .null)
        }
        #expect(try rows[1].double("d") == -.infinity)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func placeholdersCanBeReusedAndOutOfOrder(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Self.makeTable(db)
        try db.execute("INSERT INTO vals (id, s, i) VALUES ($3, $2, $1)", [10, "ten", 1])
        try db.execute("INSERT INTO vals (id, s, i) VALUES ($1, $2, $1)", [2, "two"])
        let one = try #require(try db.queryOne("SELECT i, s FROM vals WHERE id = $1", [1]))
        #expect(try one.int("i") == 10)
        #expect(try one.string("s") == "ten")
        let two = try #require(try db.queryOne("SELECT id, i FROM vals WHERE i = $1 AND id = $1", [2]))
        #expect(try two.int("id") == 2)
        let both = try db.query("SELECT id FROM vals WHERE s = $2 OR id = $1 OR s = $2 ORDER BY id", [1, "two"])
        #expect(try both.map { try $0.int("id") } == [1, 2])
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func tooFewParametersIsAQueryErrorAndExtraOnesAreIgnored(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Self.makeTable(db)
        #expect(errorCase(caught { _ = try db.query("SELECT id FROM vals WHERE id = $1 AND i = $2", [1]) }) == "query")
        #expect(try db.query("SELECT id FROM vals WHERE id = $1", [1, 2]).isEmpty)
        try db.ping()
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func executeCountsAffectedRowsAndReturningWorks(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Self.makeTable(db)
        for id in 1...5 { try Self.insert(db, id, .int(Int64(id)), nil, "x", nil, nil) }
        #expect(try db.execute("UPDATE vals SET s = $1 WHERE i > $2", ["y", 2]) == 3)
        #expect(try db.execute("DELETE FROM vals WHERE id = $1", [99]) == 0)
        #expect(try db.execute("SELECT id FROM vals") == 0)
        let returned = try db.query("UPDATE vals SET i = i * 10 WHERE id <= $1 RETURNING id, i", [2])
        #expect(Set(try returned.map { try $0.int("i") }) == [10, 20])
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func severalStatementsInOneQueryAreRefused(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Self.makeTable(db)
        #expect(errorCase(caught { try db.execute("DELETE FROM vals; DROP TABLE vals") }) == "query")
        #expect(try db.query("SELECT count(*) AS n FROM vals")[0].int("n") == 0)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func hotQueriesAreServedFromTheStatementCache(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Self.makeTable(db)
        for id in 1...300 {
            try Self.insert(db, id, .int(Int64(id)), nil, "row \(id)", nil, nil)
        }
        // More distinct statements than the cache holds must still all work.
        for id in 1...300 {
            let row = try db.queryOne("SELECT s FROM vals WHERE id = \(id) AND i = $1", [SQLValue(id)])
            #expect(try row?.string("s") == "row \(id)")
        }
    }
}
