import Foundation
import Storage
import Testing
import TrainyardTestSupport

@Suite("Driver errors map to the same DatabaseError in both dialects")
struct ErrorMappingTests {
    static func makeSchema(_ db: Database) throws {
        let id = db.dialect == .sqlite ? "INTEGER PRIMARY KEY" : "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
        try db.transaction { conn in
            try conn.executeScript("""
                CREATE TABLE parents (
                    id \(id),
                    slug TEXT NOT NULL CONSTRAINT parents_slug_key UNIQUE,
                    size INTEGER NOT NULL CONSTRAINT parents_size_check CHECK (size BETWEEN 1 AND 10)
                );
                CREATE TABLE children (
                    parent_id BIGINT NOT NULL REFERENCES parents (id) ON DELETE RESTRICT,
                    step INTEGER NOT NULL,
                    PRIMARY KEY (parent_id, step)
                );
                CREATE TABLE tags (a TEXT NOT NULL, b TEXT NOT NULL, live INTEGER NOT NULL);
                CREATE UNIQUE INDEX tags_one_live ON tags (a) WHERE live = 1;
                CREATE UNIQUE INDEX tags_a_b ON tags (a, b);
                """)
        }
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func uniqueViolationsNameTheConstraint(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Self.makeSchema(db)
        try db.execute("INSERT INTO parents (slug, size) VALUES ($1, $2)", ["a", 1])
        let slug = caught { try db.execute("INSERT INTO parents (slug, size) VALUES ($1, $2)", ["a", 2]) }
        #expect(errorCase(slug) == "unique")
        #expect((slug as? DatabaseError)?.constraint == "parents_slug_key")

        let parent = try db.query("SELECT id FROM parents")[0].int("id")
        try db.execute("INSERT INTO children (parent_id, step) VALUES ($1, $2)", [SQLValue(parent), 1])
        let pk = caught { try db.execute("INSERT INTO children (parent_id, step) VALUES ($1, $2)", [SQLValue(parent), 1]) }
        #expect((pk as? DatabaseError)?.constraint == "children_pkey")

        try db.execute("INSERT INTO tags (a, b, live) VALUES ('x', '1', 1)")
        let partial = caught { try db.execute("INSERT INTO tags (a, b, live) VALUES ('x', '2', 1)") }
        #expect((partial as? DatabaseError)?.isUniqueViolation(on: "tags_one_live") == true)
        try db.execute("INSERT INTO tags (a, b, live) VALUES ('x', '3', 0)")
        let pair = caught { try db.execute("INSERT INTO tags (a, b, live) VALUES ('x', '3', 0)") }
        #expect((pair as? DatabaseError)?.constraint == "tags_a_b")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func foreignKeyViolationsAreReportedForInsertAndRestrictedDelete(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Self.makeSchema(db)
        #expect(errorCase(caught { try db.execute("INSERT INTO children (parent_id, step) VALUES (999, 1)") }) == "foreignKey")
        let parent = try db.query("INSERT INTO parents (slug, size) VALUES ('p', 1) RETURNING id")[0].int("id")
        try db.execute("INSERT INTO children (parent_id, step) VALUES ($1, 1)", [SQLValue(parent)])
        #expect(errorCase(caught { try db.execute("DELETE FROM parents WHERE id = $1", [SQLValue(parent)]) }) == "foreignKey")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func checkViolationsNameTheConstraint(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Self.makeSchema(db)
        let error = caught { try db.execute("INSERT INTO parents (slug, size) VALUES ('big', 11)") }
        #expect(errorCase(error) == "check")
        #expect((error as? DatabaseError)?.constraint == "parents_size_check")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func otherFailuresAreQueryErrorsCarryingTheSQL(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        let error = caught { _ = try db.query("SELEC nonsense") }
        guard case .query(_, let text)? = error as? DatabaseError else {
            Issue.record("expected a query error, got \(String(describing: error))")
            return
        }
        #expect(text == "SELEC nonsense")
        #expect(errorCase(caught { _ = try db.query("SELECT * FROM no_such_table") }) == "query")
    }

    /// A runaway statement stops at the statement deadline on both drivers (SQLite through its
    /// progress handler, PostgreSQL through `statement_timeout`), as a timeout, and the
    /// connection goes on serving.
    @Test(arguments: TestDatabaseKind.enabled)
    func runawayStatementStopsAtTheDeadline(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind, poolSize: 1, statementTimeoutMs: 200)
        defer { db.close() }
        let endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) AS c FROM n"
        let started = Date()
        var caught: Error?
        do { _ = try db.query(endless) } catch { caught = error }
        #expect(errorCase(caught) == "timeout")
        #expect((caught as? DatabaseError)?.isTransient == true)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(try db.query("SELECT 1 AS one").first?.int("one") == 1)
    }
}
