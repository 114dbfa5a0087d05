import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

/// PostgreSQL restarts under a running Trainyard: pages answer 503 meanwhile, never hang, and
/// come back without restarting Trainyard; nothing committed is lost.
@Suite struct PostgresRestartTests {
    @Test(.enabled(if: !TestEnvironment.skipPostgres, "PostgreSQL left out explicitly with TRAINYARD_SKIP_POSTGRES=1"))
    func pagesAnswer503DuringARestartAndRecoverOnTheirOwn() throws {
        try PostgresTestServer.exclusively {
            let db = try makeTestDatabase(.postgres, poolSize: 4, acquireTimeout: 2, sharingRestartGate: false)
            try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
            let running = try RunningApp(database: db)
            defer { running.stop() }
            try Fixtures.model(db, slug: "m1")
            let browser = try running.browser()
            try browser.get("/training/configure")
            for i in 1...5 {
                let created = try browser.post("/training/jobs", [("name", "before-restart-\(i)"), ("model", "m1"), ("epochs", "1"),
                                                                  ("learning_rate", "0.001"), ("batch_size", "32")])
                #expect(created.status == 303)
            }

            let restarter = Thread { try? PostgresTestServer.control("restart") }
            let restartStarted = Date()
            restarter.start()
            var statuses: [Int] = []
            var slowest = 0.0
            var recoveredAt: Date?
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                let started = Date()
                let response = try browser.request("GET", "/training/jobs")
                slowest = max(slowest, Date().timeIntervalSince(started))
                statuses.append(response.status)
                if response.status == 503 { #expect(response.body.contains("Temporarily unavailable")) }
                if statuses.contains(503) && response.status == 200 { recoveredAt = Date(); break }
                Thread.sleep(forTimeInterval: 0.05)
            }
            #expect(Set(statuses).isSubset(of: [200, 503]), "\(Set(statuses))")
            #expect(statuses.contains(503), "the restart was seen as an outage")
            #expect(slowest < 7, "no request hung past the timeouts")
            let recovered = try #require(recoveredAt)
            #expect(recovered.timeIntervalSince(restartStarted) < 5, "service is back within 5 s of the restart")
            let jobs = try browser.get("/training/jobs")
            for i in 1...5 { #expect(jobs.body.contains("before-restart-\(i)")) }
        }
    }
}
