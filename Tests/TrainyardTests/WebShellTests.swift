import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

/// The shell every page stands on, over a real socket.
@Suite struct WebShellTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func everyResponseCarriesTheSecurityHeaders(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        for path in ["/", "/healthz", "/static/app.css", "/nope", "/training/jobs", "/api/training/1/metrics"] {
            let response = try running.send(path)
            let csp = try #require(response.header("Content-Security-Policy"), "\(path)")
            #expect(csp.contains("script-src 'self'"))
            #expect(csp.contains("style-src 'self'"))
            #expect(!csp.contains("unsafe-inline"))
            #expect(csp.contains("frame-ancestors 'none'"))
            #expect(response.header("X-Content-Type-Options") == "nosniff")
            #expect(response.header("Referrer-Policy") == "same-origin")
        }
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func pagesUseTheLayoutAndNoInlineStyleOrScript(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        try DemoData.seed(running.database, now: Date())
        let browser = try running.browser()
        for path in ["/", "/models", "/models/lfm2-350m", "/training/jobs", "/training/configure", "/training/jobs/1", "/docs", "/nope"] {
            let page = try browser.get(path)
            #expect(page.body.hasPrefix("<!DOCTYPE html>"), "\(path)")
            #expect(page.body.contains("aria-label=\"Main\""), "\(path)")
            #expect(!page.body.contains(" style="), "\(path)")
            #expect(!page.body.contains("<script>"), "\(path)")
            #expect(!page.body.contains("onclick="), "\(path)")
        }
        let missing = try browser.get("/nope")
        #expect(missing.status == 404)
        #expect(missing.body.contains("Not found"))
        #expect(try browser.get("/models/nope").status == 404)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func sessionAndFlashCookiesAreHttpOnlyAndSameSite(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let id = try running.queuedJob()
        let browser = try running.browser()
        // A first visit gets its session cookie on the sign-in page.
        let first = try running.anonymousBrowser().get("/login")
        let session = try #require(first.headers("Set-Cookie").first { $0.hasPrefix("ty_session=") })
        #expect(session.contains("HttpOnly"))
        #expect(session.contains("SameSite=Lax"))
        let posted = try browser.post("/training/jobs/\(id)/start", [])
        let flash = try #require(posted.headers("Set-Cookie").first { $0.hasPrefix("ty_flash=") })
        #expect(flash.contains("HttpOnly"))
        #expect(!flash.contains("Training started"))   // signed payload, not message text in the clear header
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func redirectsOnlyGoToSameSitePaths(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let model = try Fixtures.model(running.database)
        let browser = try running.browser()
        for target in ["//evil.example", "/\\evil.example", "https://evil.example/", "/ok\r\nSet-Cookie: x=1"] {
            let id = try Fixtures.job(running.database, modelID: model)
            try browser.get("/training/jobs/\(id)")
            let response = try browser.post("/training/jobs/\(id)/start", [("return_to", target)])
            #expect(response.status == 303)
            #expect(response.header("Location") == "/training/jobs/\(id)", "\(target)")
        }
        let id = try Fixtures.job(running.database, modelID: model)
        try browser.get("/training/jobs/\(id)")
        let kept = try browser.post("/training/jobs/\(id)/start", [("return_to", "/training/jobs?status=running")])
        #expect(kept.header("Location") == "/training/jobs?status=running")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func unreachableDatabaseAnswers503NotA500(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        #expect(try TestHTTPClient.send(port: running.port, method: "GET", path: "/readyz").status == 200)
        // Signed in (and holding a token) before the outage.
        #expect(try running.send("/training/jobs").status == 200)
        #expect(try running.send("/api/training/1/metrics").status == 404)
        running.database.close()
        let ready = try TestHTTPClient.send(port: running.port, method: "GET", path: "/readyz")
        #expect(ready.status == 503)
        let page = try running.send("/training/jobs")
        #expect(page.status == 503)
        #expect(page.header("Retry-After") == "5")
        #expect(page.body.contains("Temporarily unavailable"))
        #expect(try TestHTTPClient.send(port: running.port, method: "GET", path: "/healthz").status == 200)
        // Scripts polling the API get the outage as JSON, not as an HTML page.
        let api = try running.send("/api/training/1/metrics")
        #expect(api.status == 503)
        #expect(api.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(api.body.contains("\"error\""))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func unexpectedErrorsGetA500PageThatRevealsNothing(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        // A schema broken behind the app's back: the query fails with an SQL error.
        try running.database.execute("DROP TABLE job_status_counts")
        let page = try running.send("/training/jobs")
        #expect(page.status == 500)
        #expect(page.body.contains("Something went wrong"))
        #expect(page.body.contains("aria-label=\"Main\""))
        #expect(!page.body.contains("job_status_counts"))
        #expect(!page.body.lowercased().contains("select"))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func demoDataIsIdempotentAndCountersMatchTheRows(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
        let first = try DemoData.seed(db, now: Date())
        #expect(first.hasPrefix("demo data added"))
        let counts = try ["models", "training_jobs", "job_metrics", "deployments", "inference_metrics", "deployment_status_history"]
            .map { try Fixtures.count(db, $0) }
        #expect(counts.allSatisfy { $0 > 0 })
        let second = try DemoData.seed(db, now: Date())
        #expect(second.contains("already has data"))
        let again = try ["models", "training_jobs", "job_metrics", "deployments", "inference_metrics", "deployment_status_history"]
            .map { try Fixtures.count(db, $0) }
        #expect(again == counts)
        // Every status appears, and the counters agree with the rows.
        for status in JobStatus.allCases {
            let rows = try db.queryOne("SELECT COUNT(*) AS n FROM training_jobs WHERE status = $1", [.text(status.rawValue)])!.int("n")
            let counter = try db.queryOne("SELECT count FROM job_status_counts WHERE status = $1", [.text(status.rawValue)])!.int("count")
            #expect(rows > 0, "\(status)")
            #expect(rows == counter, "\(status)")
        }
        for status in DeploymentStatus.allCases {
            let rows = try db.queryOne("SELECT COUNT(*) AS n FROM deployments WHERE status = $1 AND deleted_at IS NULL", [.text(status.rawValue)])!.int("n")
            let counter = try db.queryOne("SELECT count FROM deployment_status_counts WHERE status = $1", [.text(status.rawValue)])!.int("count")
            #expect(rows > 0, "\(status)")
            #expect(rows == counter, "\(status)")
        }
        #expect(try Fixtures.count(db, "deployments") > (try db.queryOne("SELECT COUNT(*) AS n FROM deployments WHERE deleted_at IS NULL")!.int("n")))
    }
}
