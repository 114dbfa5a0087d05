import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

/// The lifecycle through the pages over a real socket: failures shown with their reasons,
/// configuration changes, rollback, guardrails, live-at; bad input is a message, never an error page.
@Suite struct DeploymentLifecyclePageTests {
    func waitFor(_ what: String, timeout: TimeInterval = 30, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try !condition() {
            guard Date() < deadline else { Issue.record("timed out waiting for \(what)"); return }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aFailedDeployShowsWhyAndRecoversWithANewConfiguration(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind) { $0.simulationSpeed = 1000 }
        let work = running.app.startBackgroundWork()
        defer { work.stop(); work.waitUntilStopped(); running.stop() }
        let db = running.database
        let model = try Fixtures.model(db, slug: "small-one", name: "Small One")
        let job = try Fixtures.completeJob(db, modelID: model, name: "tight")
        let browser = try running.browser()
        try browser.get("/deployments/new?job_id=\(job)")
        #expect(try browser.post("/deployments", [("job_id", String(job)), ("memory_mb", "4096"), ("from", "form")]).status == 303)
        let id = try #require(try db.queryOne("SELECT id FROM deployments WHERE job_id = $1", [.int(Int64(job))])?.int("id"))
        try waitFor("the deployment to fail") { try Fixtures.deploymentStatus(db, id) == "failed" }
        var page = try browser.get("/deployments/\(id)")
        #expect(page.body.contains("<strong>Failed:</strong> no replica could start: replica 1: out of memory: needs ≥ 8192 MB."))
        #expect(page.body.contains("Retry revision 1"))
        #expect(page.body.contains("out of memory: needs ≥ 8192 MB</td>"))

        // A bad value keeps what was typed and names the field; nothing changes.
        let bad = try browser.post("/deployments/\(id)/configure", [("replicas", "1"), ("cpu", "4"), ("memory_mb", "lots"), ("gpu", "1"), ("storage_gb", "20")])
        #expect(bad.status == 303)
        page = try browser.get(bad.header("Location")?.components(separatedBy: "#")[0] ?? "/")
        #expect(page.body.contains(DeploymentRules.memoryMB.message))
        // A number field cannot show text (a browser never sends any); the field is empty and says why.
        #expect(page.body.contains("id=\"configure-memory_mb\" name=\"memory_mb\" type=\"number\" min=\"512\" max=\"65536\" step=\"1\" value=\"\""))
        #expect(try db.queryOne("SELECT COUNT(*) AS n FROM deployment_revisions WHERE deployment_id = $1", [.int(Int64(id))])?.int("n") == 1)

        // Enough memory: revision 2 starts and serves.
        let fixed = try browser.post("/deployments/\(id)/configure", [("replicas", "1"), ("cpu", "4"), ("memory_mb", "16384"), ("gpu", "1"), ("storage_gb", "20")])
        #expect(fixed.status == 303)
        #expect(try browser.get(fixed.header("Location")?.components(separatedBy: "#")[0] ?? "/").body.contains("new configuration saved as a new revision"))
        try waitFor("revision 2 to serve") { try Fixtures.deploymentStatus(db, id) == "active" }
        page = try browser.get("/deployments/\(id)")
        #expect(page.body.contains("memory 4 GB → 16 GB"))
        #expect(page.body.contains("Roll back to revision 1"))
        #expect(page.body.contains("<strong>serving</strong>"))

        // Rollback to revision 1 is a new revision 3 with revision 1's configuration.
        try browser.post("/deployments/\(id)/rollback", [("revision", "1")])
        #expect(try db.queryOne("SELECT source_revision FROM deployment_revisions WHERE deployment_id = $1 AND number = 3",
                                [.int(Int64(id))])?.optionalInt("source_revision") == 1)
        for (field, value) in [("revision", "abc"), ("revision", "99"), ("version", "v9.9.9"), ("version", "")] {
            let refused = try browser.post("/deployments/\(id)/rollback", [(field, value)])
            #expect(refused.status == 303, "\(field)=\(value)")
            let shown = try browser.get(refused.header("Location")?.components(separatedBy: "#")[0] ?? "/")
            #expect(shown.status == 200 && shown.body.contains("flash-error"), "\(field)=\(value)")
        }
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func rollbackToAnEarlierVersionStartsItAndStopsTheCurrentOneOnceItServes(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind) { $0.simulationSpeed = 1000 }
        let work = running.app.startBackgroundWork()
        defer { work.stop(); work.waitUntilStopped(); running.stop() }
        let db = running.database
        let model = try Fixtures.model(db, slug: "twice", name: "Twice")
        let first = try Fixtures.completeJob(db, modelID: model, name: "first")
        let second = try Fixtures.completeJob(db, modelID: model, name: "second")
        let browser = try running.browser()
        try browser.get("/training/jobs")
        try browser.post("/deployments", [("job_id", String(first))])
        let v0 = try #require(try db.queryOne("SELECT id FROM deployments WHERE job_id = $1", [.int(Int64(first))])?.int("id"))
        _ = try browser.post("/deployments/\(v0)/delete", [])
        try browser.post("/deployments", [("job_id", String(second))])
        let v1 = try #require(try db.queryOne("SELECT id FROM deployments WHERE job_id = $1", [.int(Int64(second))])?.int("id"))
        try waitFor("v1.1.0 to serve") { try Fixtures.deploymentStatus(db, v1) == "active" }
        let page = try browser.get("/deployments/\(v1)")
        #expect(page.body.contains("<option value=\"v1.0.0\">v1.0.0</option>"))

        let rolled = try browser.post("/deployments/\(v1)/rollback", [("version", "v1.0.0")])
        let location = try #require(rolled.header("Location"))
        let shown = try browser.get(location)
        #expect(shown.body.contains("Rolling back to v1.0.0: twice-v1.2.0 (v1.2.0) is starting"))
        let v2 = try #require(try db.queryOne("SELECT id FROM deployments WHERE version = 'v1.2.0'")?.int("id"))
        #expect(try db.queryOne("SELECT job_id FROM deployments WHERE id = $1", [.int(Int64(v2))])?.int("job_id") == first)
        try waitFor("the rollback to serve and the replaced one to pause") {
            try Fixtures.deploymentStatus(db, v2) == "active" && Fixtures.deploymentStatus(db, v1) == "paused"
        }
        let history = try DeploymentStore(database: db).history(v1)
        #expect(history.last?.event == .replaced && history.last?.reason == "replaced by twice-v1.2.0 (v1.2.0), now serving")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func liveAtOnTheModelPageAndTheTableAndGuardrailsThroughTheForm(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind) { $0.simulationSpeed = 1000 }
        let work = running.app.startBackgroundWork()
        defer { work.stop(); work.waitUntilStopped(); running.stop() }
        let db = running.database
        let model = try Fixtures.model(db, slug: "timeline", name: "Timeline")
        let job = try Fixtures.completeJob(db, modelID: model, name: "t")
        let browser = try running.browser()
        try browser.get("/training/jobs")
        try browser.post("/deployments", [("job_id", String(job))])
        let id = try #require(try db.queryOne("SELECT id FROM deployments")?.int("id"))
        try waitFor("it to serve") { try Fixtures.deploymentStatus(db, id) == "active" }

        let now = SQLTimestamp.iso8601(Date().addingTimeInterval(1))
        var page = try browser.get("/models/timeline?live_at=\(now)")
        #expect(page.body.contains("Serving at "))
        #expect(page.body.contains("<strong>serving</strong>, revision 1, 2 replicas"))
        page = try browser.get("/models/timeline?live_at=2001-01-01T00:00Z")
        #expect(page.body.contains("Nothing of this model was serving at 2001-01-01T00:00:00"))
        for bad in ["yesterday", "2026-11-30T14:00", "%00%ff", String(repeating: "9", count: 5000)] {
            let refused = try browser.get("/models/timeline?live_at=\(bad)")
            #expect(refused.status == 200, "\(bad.prefix(20))")
            #expect(refused.body.contains("is not a time Trainyard can read"), "\(bad.prefix(20))")
            let table = try browser.get("/deployments?live_at=\(bad)")
            #expect(table.status == 200 && table.body.contains("is not a time Trainyard can read"), "\(bad.prefix(20))")
        }
        #expect(try browser.get("/deployments?live_at=\(now)").body.contains("href=\"/deployments/\(id)\""))
        #expect(!(try browser.get("/deployments?live_at=2001-01-01T00:00Z").body.contains("href=\"/deployments/\(id)\"")))

        // Guardrails: refused values come back with messages; a good rule is listed and removable.
        try browser.get("/deployments/\(id)")
        let refused = try browser.post("/deployments/\(id)/guardrails", [("metric", "p42"), ("threshold", "-1"), ("minutes", "0"), ("action", "explode")])
        page = try browser.get(refused.header("Location")?.components(separatedBy: "#")[0] ?? "/")
        #expect(page.body.contains("Please fix the 4 highlighted fields."))
        #expect(try Fixtures.count(db, "deployment_guardrails") == 0)
        let added = try browser.post("/deployments/\(id)/guardrails", [("metric", "p95"), ("threshold", "500"), ("minutes", "5"), ("action", "pause")])
        page = try browser.get(added.header("Location")?.components(separatedBy: "#")[0] ?? "/")
        #expect(page.body.contains("Guardrail added: P95 latency above 500 ms for 5 minutes will pause the deployment."))
        #expect(page.body.contains("P95 latency above 500 ms for 5 minutes pauses the deployment."))
        let rule = try #require(try db.queryOne("SELECT id FROM deployment_guardrails")?.int("id"))
        try browser.post("/deployments/\(id)/guardrails/\(rule)/delete", [])
        #expect(try Fixtures.count(db, "deployment_guardrails") == 0)
        let again = try browser.post("/deployments/\(id)/guardrails/\(rule)/delete", [])
        #expect(try browser.get(again.header("Location")?.components(separatedBy: "#")[0] ?? "/").body.contains("There is no such guardrail"))
    }
}
