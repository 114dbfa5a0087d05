import Foundation
import Storage
import Testing
import TrainyardTestSupport

@Suite("Concurrent use")
struct ConcurrencyTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func fiftyConcurrentDeploysOfOneJobLeaveExactlyOneLive(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        let id = kind == .sqlite ? "INTEGER PRIMARY KEY" : "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
        try db.transaction { conn in
            try conn.executeScript("""
                CREATE TABLE jobs (id \(id), name TEXT NOT NULL);
                CREATE TABLE deployments (
                    id \(id),
                    job_id BIGINT NOT NULL REFERENCES jobs (id),
                    status TEXT NOT NULL,
                    deleted_at BIGINT
                );
                CREATE UNIQUE INDEX deployments_one_live_per_job ON deployments (job_id)
                    WHERE deleted_at IS NULL AND status IN ('deploying', 'active', 'paused');
                CREATE TABLE history (deployment_id BIGINT NOT NULL, note TEXT NOT NULL);
                """)
        }
        let job = try db.query("INSERT INTO jobs (name) VALUES ('j') RETURNING id")[0].int("id")
        let shared = SendableDatabase(db: db)
        let successes = Locked(0)
        let outcomes = Locked<[String]>([])
        concurrently(50) { i in
            do {
                try shared.db.transaction { conn in
                    let deployment = try conn.query(
                        "INSERT INTO deployments (job_id, status) VALUES ($1, 'deploying') RETURNING id",
                        [SQLValue(job)])[0].int("id")
                    try conn.execute("INSERT INTO history (deployment_id, note) VALUES ($1, $2)",
                                     [SQLValue(deployment), .text("attempt \(i)")])
                }
                successes.withValue { $0 += 1 }
            } catch let error as DatabaseError where error.isUniqueViolation(on: "deployments_one_live_per_job") {
                outcomes.withValue { $0.append("one-live") }
            } catch {
                outcomes.withValue { $0.append("\(error)") }
            }
        }
        #expect(successes.current == 1)
        #expect(outcomes.current == Array(repeating: "one-live", count: 49))
        #expect(try db.query("SELECT id FROM deployments").count == 1)
        #expect(try db.query("SELECT note FROM history").count == 1)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func concurrentReadModifyWriteTransactionsNeverLoseAnUpdate(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try db.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        try db.execute("INSERT INTO counter (id, n) VALUES (1, 0)")
        let shared = SendableDatabase(db: db)
        let failures = Locked<[String]>([])
        concurrently(8) { _ in
            for _ in 0..<50 {
                do {
                    try shared.db.transaction { conn in
                        // Read then write: safe under BEGIN IMMEDIATE (SQLite) and a row lock (PostgreSQL).
                        let lock = conn.dialect == .postgres ? " FOR UPDATE" : ""
                        let n = try conn.query("SELECT n FROM counter WHERE id = 1" + lock)[0].int("n")
                        try conn.execute("UPDATE counter SET n = $1 WHERE id = 1", [SQLValue(n + 1)])
                    }
                } catch {
                    failures.withValue { $0.append("\(error)") }
                }
            }
        }
        #expect(failures.current == [])
        #expect(try db.query("SELECT n FROM counter")[0].int("n") == 400)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func concurrentAutocommitWritesAndReadsNeverSurfaceBusy(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try db.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        try db.execute("INSERT INTO counter (id, n) VALUES (1, 0)")
        let shared = SendableDatabase(db: db)
        let failures = Locked<[String]>([])
        concurrently(12) { i in
            for _ in 0..<50 {
                do {
                    if i % 3 == 0 {
                        _ = try shared.db.query("SELECT n FROM counter WHERE id = 1")
                    } else {
                        try shared.db.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
                    }
                } catch {
                    failures.withValue { $0.append("\(error)") }
                }
            }
        }
        #expect(failures.current == [])
        #expect(try db.query("SELECT n FROM counter")[0].int("n") == 400)
    }
}
