import Foundation
import Storage
import Testing
@testable import StorageSQLite

@Suite struct SQLiteStatementCacheTests {
    /// A list query binds its status filter on every run; the planner must not tie the cached
    /// statement's plan to the bound value (which made SQLite prepare it again each time).
    @Test func aStatementComparedWithPartialIndexesStaysPreparedAcrossBindings() throws {
        try withTemporaryConnection { connection in
            try connection.executeScript("""
                CREATE TABLE items (id INTEGER PRIMARY KEY, status TEXT NOT NULL, gone INTEGER, moving INTEGER);
                CREATE INDEX items_status ON items (status, id) WHERE gone IS NULL;
                CREATE INDEX items_live ON items (id) WHERE gone IS NULL AND status IN ('a', 'b');
                CREATE INDEX items_busy ON items (id) WHERE gone IS NULL AND (status = 'a' OR moving IS NOT NULL);
                INSERT INTO items (status) VALUES ('a'), ('b'), ('c'), ('a');
                """)
            let sql = "SELECT id FROM items WHERE gone IS NULL AND status = $1 ORDER BY id"
            for (status, ids) in [("a", [1, 4]), ("b", [2]), ("c", [3]), ("a", [1, 4]), ("z", [])] {
                let rows = try connection.query(sql, [.text(status)])
                #expect(try rows.map { try $0.int("id") } == ids, "status \(status)")
            }
            #expect(connection.repreparations(of: sql) == 0)
        }
    }

    /// A transaction that changes more pages than the cache holds keeps them until its commit
    /// (up to `spillPages`), rather than writing them early and reading them back.
    @Test func aLargeTransactionKeepsItsChangedPagesUntilCommit() throws {
        try withTemporaryConnection { connection in
            // About 8 MB of rows and index entries in one transaction: four times the 2 MiB cache.
            try connection.executeScript("""
                CREATE TABLE items (id INTEGER PRIMARY KEY, payload BLOB NOT NULL, key INTEGER NOT NULL);
                CREATE INDEX items_key ON items (key, id);
                BEGIN;
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8000)
                INSERT INTO items (payload, key) SELECT randomblob(900), abs(random()) % 1000 FROM n;
                COMMIT;
                """)
            #expect(try connection.query("SELECT COUNT(*) AS n FROM items", [])[0].int("n") == 8000)
            #expect(connection.cacheSpills == 0)
        }
    }

    /// A connection to a new database file, removed (with its log) afterwards.
    private func withTemporaryConnection(_ body: (SQLiteConnection) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("statements-\(UUID().uuidString).sqlite").path
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let connection = try SQLiteConnection(path: path, busyTimeoutMs: 1000)
        defer { connection.close() }
        try body(connection)
    }
}
