import Foundation
import Storage
import Testing
import TrainyardTestSupport

struct Boom: Error, Equatable {}

@Suite("Transactions")
struct TransactionTests {
    static func makeTable(_ db: Database) throws {
        try db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    }

    static func count(_ db: Database) throws -> Int {
        try db.query("SELECT count(*) AS n FROM items")[0].int("n")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func committedWorkIsVisibleAndTheBodyResultIsReturned(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Self.makeTable(db)
        let name = try db.transaction { conn -> String in
            try conn.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [1, "a"])
            try conn.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [2, "b"])
            return try conn.queryOne("SELECT name FROM items WHERE id = $1", [2])!.string("name")
        }
        #expect(name == "b")
        #expect(try Self.count(db) == 2)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aThrowingBodyRollsBackAndRethrows(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Self.makeTable(db)
        let error = caught {
            try db.transaction { conn in
                try conn.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [1, "a"])
                throw Boom()
            }
        }
        #expect(error as? Boom == Boom())
        #expect(try Self.count(db) == 0)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aFailedStatementRollsBackTheWholeTransaction(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Self.makeTable(db)
        try db.execute("INSERT INTO items (id, name) VALUES (1, 'existing')")
        let error = caught {
            try db.transaction { conn in
                try conn.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [2, "new"])
                try conn.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [1, "duplicate"])
            }
        }
        #expect(errorCase(error) == "unique")
        #expect(try Self.count(db) == 1)
        // The connection went back to the pool in a usable state.
        for _ in 0..<20 {
            try db.transaction { conn in _ = try conn.query("SELECT id FROM items") }
        }
        try db.execute("INSERT INTO items (id, name) VALUES (2, 'after')")
        #expect(try Self.count(db) == 2)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func scriptsRunSeveralStatementsInsideATransaction(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try db.transaction { conn in
            try conn.executeScript("""
                CREATE TABLE a (id INTEGER PRIMARY KEY);
                CREATE TABLE b (id INTEGER PRIMARY KEY);
                INSERT INTO a (id) VALUES (1);
                """)
        }
        #expect(try db.query("SELECT id FROM a").count == 1)
        _ = caught {
            try db.transaction { conn in
                try conn.executeScript("CREATE TABLE c (id INTEGER PRIMARY KEY); INSERT INTO a (id) VALUES (1);")
            }
        }
        #expect(errorCase(caught { _ = try db.query("SELECT id FROM c") }) == "query")
    }

    @Test(.enabled(if: TestDatabaseKind.enabled.contains(.postgres)))
    func postgresReportsACommitThatTurnedIntoARollback() throws {
        let db = try makeTestDatabase(.postgres)
        defer { db.close() }
        try Self.makeTable(db)
        let error = caught {
            try db.transaction { conn in
                try conn.execute("INSERT INTO items (id, name) VALUES (1, 'a')")
                // The body swallows the error, but PostgreSQL has aborted the transaction.
                _ = try? conn.execute("INSERT INTO items (id, name) VALUES (1, 'a')")
            }
        }
        #expect(errorCase(error) == "query")
        #expect(try Self.count(db) == 0)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func pingAnswersAndCloseMakesFurtherCallsUnavailable(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        try db.ping()
        db.close()
        #expect(errorCase(caught { try db.ping() }) == "unavailable")
    }
}
