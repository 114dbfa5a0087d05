import Foundation
import Storage
import StoragePostgres
import Testing
import TrainyardTestSupport

/// Behaviour only PostgreSQL has: a networked server, a bounded pool, server-side timeouts.
/// Skipped only when TRAINYARD_SKIP_POSTGRES=1 says so.
@Suite("PostgreSQL pool and server failures", .enabled(if: TestDatabaseKind.enabled.contains(.postgres)))
struct PostgresPoolTests {
    @Test func anExhaustedPoolAnswersUnavailableAfterTheBoundedWait() throws {
        let db = try makeTestDatabase(.postgres, poolSize: 1, acquireTimeout: 0.5)
        defer { db.close() }
        let shared = SendableDatabase(db: db)
        let holding = DispatchSemaphore(value: 0)
        let finish = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        Thread {
            _ = try? shared.db.transaction { conn in
                _ = try conn.query("SELECT 1 AS one")
                holding.signal()
                _ = finish.wait(timeout: .now() + 10)
            }
            done.signal()
        }.start()
        #expect(holding.wait(timeout: .now() + 10) == .success)
        let started = Date()
        let error = caught { _ = try db.query("SELECT 1 AS one") }
        let waited = Date().timeIntervalSince(started)
        finish.signal()
        #expect(errorCase(error) == "unavailable")
        #expect(waited >= 0.4)
        #expect(waited < 3)
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(try db.query("SELECT 1 AS one")[0].int("one") == 1)
    }

    /// Statements are prepared once per connection; one whose table changed underneath
    /// (a migration adding a column) is prepared again instead of failing, and the same text
    /// with parameters of other types is a statement of its own.
    @Test func aPreparedStatementSurvivesItsTableChangingAndOtherParameterTypes() throws {
        let db = try makeTestDatabase(.postgres, poolSize: 1)
        defer { db.close() }
        try db.execute("CREATE TABLE prepared_probe (id BIGINT PRIMARY KEY, name TEXT)")
        try db.execute("INSERT INTO prepared_probe VALUES (1, 'one'), (2, 'two')")
        let select = "SELECT * FROM prepared_probe WHERE id = $1"
        #expect(try db.query(select, [.int(1)]).first?.columns == ["id", "name"])
        try db.execute("ALTER TABLE prepared_probe ADD COLUMN extra TEXT DEFAULT 'x'")
        let after = try db.query(select, [.int(1)])
        #expect(after.first?.columns == ["id", "name", "extra"])
        #expect(try after.first?.string("extra") == "x")
        #expect(try db.query(select, [.text("2")]).first?.string("name") == "two", "text where an int was: prepared apart")
        #expect(try db.query(select, [.null]).isEmpty)
        for i in 0..<300 {   // past the per-connection cache's limit: it starts over, nothing fails
            #expect(try db.query("SELECT \(i) AS n").first?.int("n") == i)
        }
        #expect(try db.query(select, [.int(2)]).first?.string("name") == "two")
    }

    /// An app beside its database connects over the Unix socket (`?host=<socket dir>`, the
    /// form the bench scripts use): the URL reaches the same server, with the timeouts the
    /// pool adds to its query string.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TRAINYARD_TEST_POSTGRES_SOCKET_URL"] != nil))
    func aUnixSocketURLReachesTheSameServer() throws {
        let socketURL = try #require(ProcessInfo.processInfo.environment["TRAINYARD_TEST_POSTGRES_SOCKET_URL"])
        let overTCP = try makeTestDatabase(.postgres, poolSize: 1)
        defer { overTCP.close() }
        let overSocket = try PostgresDatabase(url: socketURL, poolSize: 1, statementTimeoutMs: 1234)
        defer { overSocket.close() }
        #expect(try overSocket.queryOne("SELECT inet_server_addr() IS NULL AS local")?.bool("local") == true, "no TCP address: the socket")
        #expect(try overTCP.queryOne("SELECT inet_server_addr() IS NULL AS local")?.bool("local") == false)
        #expect(try overSocket.queryOne("SHOW statement_timeout")?.string("statement_timeout") == "1234ms")
        let a = try overSocket.queryOne("SELECT system_identifier::text AS id FROM pg_control_system()")?.string("id")
        let b = try overTCP.queryOne("SELECT system_identifier::text AS id FROM pg_control_system()")?.string("id")
        #expect(a != nil && a == b, "one server")
    }

    @Test func statementAndLockTimeoutsAreTimeouts() throws {
        let db = try makeTestDatabase(.postgres)
        defer { db.close() }
        let slow = caught {
            try db.transaction { conn in
                try conn.execute("SET LOCAL statement_timeout = 100")
                _ = try conn.query("SELECT pg_sleep(2)")
            }
        }
        #expect(errorCase(slow) == "timeout")

        try db.execute("CREATE TABLE locked (id INTEGER PRIMARY KEY)")
        try db.execute("INSERT INTO locked (id) VALUES (1)")
        let shared = SendableDatabase(db: db)
        let holding = DispatchSemaphore(value: 0)
        let finish = DispatchSemaphore(value: 0)
        Thread {
            _ = try? shared.db.transaction { conn in
                _ = try conn.query("SELECT id FROM locked WHERE id = 1 FOR UPDATE")
                holding.signal()
                _ = finish.wait(timeout: .now() + 10)
            }
        }.start()
        #expect(holding.wait(timeout: .now() + 10) == .success)
        let blocked = caught {
            try db.transaction { conn in
                try conn.execute("SET LOCAL lock_timeout = 100")
                try conn.execute("UPDATE locked SET id = 2 WHERE id = 1")
            }
        }
        finish.signal()
        #expect(errorCase(blocked) == "timeout")
    }

    @Test func unreachableServerIsUnavailableWithinTheConnectTimeout() throws {
        let started = Date()
        let error = caught {
            _ = try PostgresDatabase(url: "postgres://postgres@127.0.0.1:1/postgres", connectTimeoutSeconds: 2)
        }
        #expect(errorCase(error) == "unavailable")
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func queriesRecoverAfterTheServerRestartsAndCommittedRowsSurvive() throws {
        try PostgresTestServer.exclusively {
            let db = try makeTestDatabase(.postgres, poolSize: 4, acquireTimeout: 2, sharingRestartGate: false)
            defer { db.close() }
            try db.execute("CREATE TABLE events (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, worker INTEGER NOT NULL)")
            let bootedBefore = try db.query("SELECT pg_postmaster_start_time() AS t")[0].date("t")
            let shared = SendableDatabase(db: db)
            let committed = Locked<[Int]>([])
            let errors = Locked<[String]>([])
            let slowest = Locked<Double>(0)
            let restartedAt = Locked<Date?>(nil)
            let recoveredAt = Locked<Date?>(nil)
            let stop = Locked(false)
            let runner = Thread {
                Thread.sleep(forTimeInterval: 0.5)
                do {
                    try PostgresTestServer.control("restart")
                } catch {
                    errors.withValue { $0.append("restart failed: \(error)") }
                    stop.withValue { $0 = true }
                }
                restartedAt.withValue { $0 = Date() }
            }
            runner.start()
            concurrently(4) { worker in
                let deadline = Date(timeIntervalSinceNow: 60)
                while !stop.current && Date() < deadline {
                    let started = Date()
                    do {
                        let id = try shared.db.query("INSERT INTO events (worker) VALUES ($1) RETURNING id",
                                                     [SQLValue(worker)])[0].int("id")
                        committed.withValue { $0.append(id) }
                        if let restarted = restartedAt.current, started > restarted {
                            recoveredAt.withValue { $0 = $0 ?? Date() }
                            // Keep going briefly to show the pool is healthy, then stop.
                            if Date().timeIntervalSince(restarted) > 1 { stop.withValue { $0 = true } }
                        }
                    } catch let error as DatabaseError {
                        if case .unavailable = error {} else { errors.withValue { $0.append("\(error)") } }
                        Thread.sleep(forTimeInterval: 0.02)
                    } catch {
                        errors.withValue { $0.append("\(error)") }
                    }
                    let took = Date().timeIntervalSince(started)
                    slowest.withValue { $0 = max($0, took) }
                }
            }
            #expect(errors.current == [])
            let restarted = try #require(restartedAt.current)
            let recovered = try #require(recoveredAt.current)
            #expect(recovered.timeIntervalSince(restarted) < 5)
            // connect_timeout (5 s) bounds the worst call; nothing may hang beyond it.
            #expect(slowest.current < 7)
            let ids = committed.current
            #expect(ids.count > 0)
            let bootedAfter = try db.query("SELECT pg_postmaster_start_time() AS t")[0].date("t")
            #expect(bootedAfter > bootedBefore, "the server really restarted")
            let present = try db.query("SELECT id FROM events").map { try $0.int("id") }
            #expect(Set(ids).isSubset(of: Set(present)))
        }
    }
}

