import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

/// Pages and API lists carry an ETag built from the change counters of the tables they read; a
/// reload with a tag that still matches is a 304 with no body.
@Suite struct ConditionalGetTests {
    /// A running app whose tags follow a clock that stands still (a test never straddles a
    /// 10-second step by chance), with one active deployment.
    func start(_ kind: TestDatabaseKind) throws -> (RunningApp, deployment: Int) {
        let running = try RunningApp(kind)
        running.app.web.now = { Date(timeIntervalSince1970: 1_900_000_000) }
        let db = running.database
        let id = try Fixtures.deployment(db, jobID: try Fixtures.completeJob(db, modelID: try Fixtures.model(db)))
        try db.execute("UPDATE deployments SET status = 'active' WHERE id = $1", [.int(Int64(id))])
        try db.transaction { conn in try DeploymentStore.recount(conn) }
        return (running, id)
    }

    func tag(_ response: TestResponse) throws -> String { try #require(response.header("ETag")) }

    func revalidate(_ browser: TestBrowser, _ path: String, _ etag: String) throws -> TestResponse {
        try browser.request("GET", path, headers: [("If-None-Match", etag)])
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func anUnchangedPageIsA304AndAChangeMakesANewTag(_ kind: TestDatabaseKind) throws {
        let (running, id) = try start(kind)
        defer { running.stop() }
        let browser = try running.browser()
        let path = "/deployments?status=active&sort=p95&dir=desc"

        let first = try browser.get(path)
        #expect(first.status == 200)
        let etag = try tag(first)
        #expect(etag.hasPrefix("W/\"") && etag.hasSuffix("\""))
        // The browser keeps it for itself and asks again every time.
        #expect(first.header("Cache-Control") == "private, no-cache")
        #expect(try tag(try browser.get(path)) == etag, "the same data, user and clock step: the same tag")

        let again = try revalidate(browser, path, etag)
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
        #expect(again.header("ETag") == etag)
        #expect(try browser.request("HEAD", path, headers: [("If-None-Match", etag)]).status == 304)
        #expect(try revalidate(browser, path, "\"something-else\", " + etag).status == 304, "any tag of the list matches")
        #expect(try revalidate(browser, path, "W/\"stale\"").status == 200)

        // Paused through the form: the flash page has no tag (it shows its message once), the
        // next one has a new tag, and the old one gets the new page.
        #expect(try browser.post("/deployments/\(id)/pause", [("return_to", path)]).status == 303)
        let withFlash = try browser.get("/deployments/\(id)")
        #expect(withFlash.header("ETag") == nil)
        #expect(withFlash.header("Cache-Control") == "no-store")
        let changed = try revalidate(browser, path, etag)
        #expect(changed.status == 200)
        #expect(changed.body.contains("No deployments match"), "the paused deployment left the active filter")
        #expect(try tag(changed) != etag)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func everyWriterMovesTheTagAndARolledBackOneDoesNot(_ kind: TestDatabaseKind) throws {
        let (running, id) = try start(kind)
        defer { running.stop() }
        let db = running.database
        let browser = try running.browser()
        let table = try tag(try browser.get("/deployments"))
        let dashboard = try tag(try browser.get("/"))

        // A write outside the app's stores (another process, a script) counts too: triggers keep the counters.
        struct Abandon: Error {}
        #expect(throws: Abandon.self) {
            try db.transaction { conn in
                try conn.execute("UPDATE deployments SET p95_ms = 123 WHERE id = $1", [.int(Int64(id))])
                throw Abandon()
            }
        }
        #expect(try tag(try browser.get("/deployments")) == table, "a rolled-back write changes nothing")

        // A new model is not in the deployments table, but it is on the dashboard.
        _ = try Fixtures.model(db, slug: "another", name: "Another")
        #expect(try tag(try browser.get("/deployments")) == table)
        #expect(try tag(try browser.get("/")) != dashboard)

        try db.execute("UPDATE deployments SET p95_ms = 123 WHERE id = $1", [.int(Int64(id))])
        let moved = try browser.get("/deployments")
        #expect(try tag(moved) != table)
        #expect(moved.body.contains("123"))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func theTagBelongsToOneSessionAndOneClockStep(_ kind: TestDatabaseKind) throws {
        let (running, _) = try start(kind)
        defer { running.stop() }
        let admin = try running.browser()
        let etag = try tag(try admin.get("/deployments"))
        // Another user sees another name in the header; another session of the same user has
        // another CSRF token in its forms: neither may reuse the page.
        let viewer = try running.browser(as: .viewer)
        #expect(try revalidate(viewer, "/deployments", etag).status == 200)
        let secondSession = try running.browser()
        #expect(try revalidate(secondSession, "/deployments", etag).status == 200)
        // Pages say "3 minutes ago": the next 10-second step is a new page.
        running.app.web.now = { Date(timeIntervalSince1970: 1_900_000_000 + PageVersion.clockStep) }
        let later = try revalidate(admin, "/deployments", etag)
        #expect(later.status == 200)
        #expect(try tag(later) != etag)
        // A visitor who is not signed in gets the sign-in redirect, never a 304.
        #expect(try running.anonymousBrowser().request("GET", "/deployments", headers: [("If-None-Match", etag)]).status == 303)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func theJSONListRevalidatesToo(_ kind: TestDatabaseKind) throws {
        let (running, id) = try start(kind)
        defer { running.stop() }
        let auth = [("Authorization", "Bearer " + (try running.token()))]
        let first = try TestHTTPClient.send(port: running.port, method: "GET", path: "/api/deployments", headers: auth)
        #expect(first.status == 200)
        let etag = try tag(first)
        #expect(first.header("Cache-Control") == "private, no-cache")
        let again = try TestHTTPClient.send(port: running.port, method: "GET", path: "/api/deployments", headers: auth + [("If-None-Match", etag)])
        #expect(again.status == 304 && again.body.isEmpty)
        try running.database.execute("UPDATE deployments SET rps = 9 WHERE id = $1", [.int(Int64(id))])
        #expect(try TestHTTPClient.send(port: running.port, method: "GET", path: "/api/deployments", headers: auth + [("If-None-Match", etag)]).status == 200)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aCompressedPageHasTheSameTagAndItsRevalidationIsNotCompressed(_ kind: TestDatabaseKind) throws {
        let (running, _) = try start(kind)
        defer { running.stop() }
        let browser = try running.browser()
        let plain = try tag(try browser.get("/"))
        let gzipped = try browser.request("GET", "/", headers: [("Accept-Encoding", "gzip")])
        #expect(gzipped.header("Content-Encoding") == "gzip")
        #expect(gzipped.header("ETag") == plain)
        let notModified = try browser.request("GET", "/", headers: [("Accept-Encoding", "gzip"), ("If-None-Match", plain)])
        #expect(notModified.status == 304)
        #expect(notModified.header("Content-Encoding") == nil)
        #expect(notModified.body.isEmpty)
    }
}
