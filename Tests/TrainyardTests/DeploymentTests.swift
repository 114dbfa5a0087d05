import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

/// Deployments over a real socket, on both databases.
@Suite struct DeploymentEndToEndTests {
    func waitFor(_ what: String, timeout: TimeInterval = 20, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try !condition() {
            guard Date() < deadline else { Issue.record("timed out waiting for \(what)"); return }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    func historyCount(_ db: Database, _ id: Int) throws -> Int {
        try db.queryOne("SELECT COUNT(*) AS n FROM deployment_status_history WHERE deployment_id = $1", [.int(Int64(id))])!.int("n")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func deployWatchPauseResumeScaleAndDelete(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind) { $0.simulationSpeed = 1000 }
        defer { running.stop() }
        let db = running.database
        let model = try Fixtures.model(db, slug: "lfm2-350m", name: "LFM2 350M", parameters: 354_000_000)
        let job = try Fixtures.completeJob(db, modelID: model, name: "intents")
        let browser = try running.browser()

        // The Deploy button sits on the completed job in the list and on its monitor.
        let list = try browser.get("/training/jobs")
        #expect(list.body.contains("name=\"job_id\" value=\"\(job)\""))
        let monitor = try browser.get("/training/jobs/\(job)")
        #expect(monitor.body.contains("action=\"/deployments\""))
        #expect(monitor.body.contains("href=\"/deployments/new?job_id=\(job)\""))

        let deployed = try browser.post("/deployments", [("job_id", String(job))])
        #expect(deployed.status == 303)
        #expect(deployed.header("Location") == "/deployments")
        let id = try #require(try db.queryOne("SELECT id FROM deployments WHERE job_id = $1", [.int(Int64(job))])?.int("id"))
        let table = try browser.get("/deployments")
        #expect(table.status == 200)
        #expect(table.body.contains("Deploying lfm2-350m-v1.0.0 (v1.0.0): starting 1 replica."))
        #expect(table.body.contains("href=\"/deployments/\(id)\""))
        #expect(table.body.contains(">Deploying</span>"))
        let row = try #require(try db.queryOne("SELECT endpoint, version, deployed_by FROM deployments WHERE id = $1", [.int(Int64(id))]))
        #expect(try row.string("endpoint") == "/api/inference/lfm2-350m/v1.0.0")
        #expect(try row.string("deployed_by") == "test-admin")
        #expect(try historyCount(db, id) == 1)

        let work = running.app.startBackgroundWork()
        defer { work.stop(); work.waitUntilStopped() }
        try waitFor("active") { try Fixtures.deploymentStatus(db, id) == "active" }
        let activeTable = try browser.get("/deployments")
        #expect(activeTable.body.contains(">Active</span>"))
        #expect(try historyCount(db, id) == 2)

        let detail = try browser.get("/deployments/\(id)")
        #expect(detail.status == 200)
        for card in ["Request volume", "P50 latency", "P95 latency", "P99 latency", "Error rate", "Success rate"] {
            #expect(detail.body.contains("<span class=\"stat-label\">\(card)</span>"), "\(card)")
        }
        #expect(!detail.body.contains("Metrics unavailable"))
        #expect(detail.body.contains("/api/inference/lfm2-350m/v1.0.0"))
        #expect(detail.body.contains("href=\"/training/jobs/\(job)\""))
        #expect(detail.body.contains("class=\"chart\" viewBox"))
        #expect(detail.body.contains("legend-p95"))

        #expect(try browser.post("/deployments/\(id)/pause", []).status == 303)
        let paused = try browser.get("/deployments/\(id)")
        #expect(paused.body.contains("Deployment lfm2-350m-v1.0.0 paused."))
        #expect(paused.body.contains("Metrics unavailable"))
        #expect(try Fixtures.deploymentStatus(db, id) == "paused")
        #expect(try historyCount(db, id) == 3)
        // Pausing twice is refused and changes nothing.
        try browser.post("/deployments/\(id)/pause", [])
        #expect(try browser.get("/deployments/\(id)").body.contains("Only active or deploying deployments can be paused"))
        #expect(try historyCount(db, id) == 3)

        #expect(try browser.post("/deployments/\(id)/resume", []).status == 303)
        #expect(try browser.get("/deployments/\(id)").body.contains("resuming"))
        try waitFor("active again") { try Fixtures.deploymentStatus(db, id) == "active" }
        #expect(try historyCount(db, id) == 5)

        #expect(try browser.post("/deployments/\(id)/scale", [("replicas", "3")]).status == 303)
        #expect(try browser.get("/deployments/\(id)").body.contains("scaled to 3 replicas"))
        try waitFor("3 running replicas") { try Fixtures.replicaStatuses(db, id) == ["running", "running", "running"] }
        let scaled = try browser.get("/deployments/\(id)")
        #expect(scaled.body.contains("3 of 3 running"))
        #expect(scaled.body.components(separatedBy: ">Running</span>").count - 1 == 3)
        #expect(try historyCount(db, id) == 6)
        // Out-of-range scales are refused.
        for bad in ["0", "101", "three", "-2", ""] {
            try browser.post("/deployments/\(id)/scale", [("replicas", bad)])
            #expect(try browser.get("/deployments/\(id)").body.contains("Replicas must be a whole number from 1 to 100."), "\(bad)")
        }
        #expect(try historyCount(db, id) == 6)

        let deleted = try browser.post("/deployments/\(id)/delete", [])
        #expect(deleted.status == 303)
        #expect(deleted.header("Location") == "/deployments")
        let afterDelete = try browser.get("/deployments")
        #expect(afterDelete.body.contains("Deployment lfm2-350m-v1.0.0 deleted."))
        #expect(!afterDelete.body.contains("href=\"/deployments/\(id)\""))
        #expect(afterDelete.body.contains("No deployments yet"))
        let tombstone = try browser.get("/deployments/\(id)")
        #expect(tombstone.status == 200)
        #expect(tombstone.body.contains("This deployment was deleted"))
        #expect(tombstone.body.contains("Metrics unavailable"))
        #expect(!tombstone.body.contains("/deployments/\(id)/pause"))
        #expect(try historyCount(db, id) == 7)
        try browser.post("/deployments/\(id)/resume", [])
        #expect(try browser.get("/deployments/\(id)").body.contains("This deployment has been deleted"))
        #expect(try historyCount(db, id) == 7)
        #expect(try Fixtures.deploymentCounts(db) == ["deploying": 0, "active": 0, "paused": 0, "failed": 0])

        // Once deleted, the job can be deployed again, as the next version.
        #expect(try browser.post("/deployments", [("job_id", String(job))]).status == 303)
        #expect(try browser.get("/deployments").body.contains("Deploying lfm2-350m-v1.1.0 (v1.1.0)"))

        // Unknown ids are 404 pages, for views and actions.
        #expect(try browser.get("/deployments/999999").status == 404)
        #expect(try browser.get("/deployments/abc").status == 404)
        #expect(try browser.post("/deployments/999999/pause", []).status == 404)
        #expect(try browser.post("/deployments/999999/scale", [("replicas", "2")]).status == 404)
        #expect(try browser.post("/deployments/0/delete", []).status == 404)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func twentySimultaneousDeploysOfOneJobMakeOneDeployment(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let job = try Fixtures.completeJob(db, modelID: try Fixtures.model(db))
        let browsers = try (0..<20).map { _ in try running.browser() }
        for browser in browsers { try browser.get("/training/jobs/\(job)") }

        let results = ResultBox(count: browsers.count)
        DispatchQueue.concurrentPerform(iterations: browsers.count) { i in
            do {
                let response = try browsers[i].post("/deployments", [("job_id", String(job))])
                let page = try browsers[i].get(response.header("Location") ?? "/")
                results.set(i, (response.status, page.status, page.body))
            } catch {
                results.set(i, (-1, -1, "\(error)"))
            }
        }
        let all = results.values
        #expect(all.allSatisfy { $0.0 == 303 && $0.1 == 200 })
        #expect(all.filter { $0.2.contains("Deploying test-model-v1.0.0") }.count == 1)
        #expect(all.filter { $0.2.contains("This job already has a live deployment: test-model-v1.0.0 is deploying.") }.count == 19)
        #expect(try Fixtures.count(db, "deployments") == 1)
        #expect(try Fixtures.deploymentCounts(db)["deploying"] == 1)
        #expect(try Fixtures.count(db, "deployment_status_history") == 1)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func simultaneousDeploysOfOneModelGetDistinctVersions(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let model = try Fixtures.model(db)
        let jobs = try (0..<10).map { try Fixtures.completeJob(db, modelID: model, name: "job-\($0)") }
        let browsers = try jobs.map { _ in try running.browser() }
        for (i, browser) in browsers.enumerated() { try browser.get("/training/jobs/\(jobs[i])") }
        let statuses = ResultBox(count: jobs.count)
        DispatchQueue.concurrentPerform(iterations: jobs.count) { i in
            let status = (try? browsers[i].post("/deployments", [("job_id", String(jobs[i]))]).status) ?? -1
            statuses.set(i, (status, 0, ""))
        }
        #expect(statuses.values.allSatisfy { $0.0 == 303 })
        let versions = try db.query("SELECT version FROM deployments ORDER BY version_number").map { try $0.string("version") }
        #expect(versions == (0..<10).map { "v1.\($0).0" })
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func refusedDeploysExplainWhyAndCreateNothing(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let model = try Fixtures.model(db)
        let runningJob = try Fixtures.job(db, modelID: model, name: "still-running")
        _ = try JobStore(database: db).transition(runningJob, from: [.queued], to: .running, by: .system, now: Date())
        let failedJob = try Fixtures.job(db, modelID: model, name: "broken")
        _ = try JobStore(database: db).transition(failedJob, from: [.queued], to: .failed, reason: "loss diverged", by: .system, now: Date())
        let done = try Fixtures.completeJob(db, modelID: model)
        let browser = try running.browser()
        try browser.get("/training/jobs")

        func refused(_ fields: [(String, String)], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let response = try browser.post("/deployments", fields)
            #expect(response.status == 303, sourceLocation: sourceLocation)
            let page = try browser.get(response.header("Location") ?? "/")
            #expect(page.status == 200, sourceLocation: sourceLocation)
            #expect(page.body.contains(message), "\(fields)", sourceLocation: sourceLocation)
            #expect(try Fixtures.count(db, "deployments") == 0, sourceLocation: sourceLocation)
        }
        try refused([("job_id", String(runningJob))], "Only completed training jobs can be deployed; this job is running.")
        try refused([("job_id", String(failedJob))], "Only completed training jobs can be deployed; this job is failed.")
        try refused([("job_id", "999999")], "There is no training job #999999 to deploy.")
        for malformed in ["abc", "", "-1", "0", "1.5", "1e3", "99999999999999999999999"] {
            try refused([("job_id", malformed)], "Choose a completed training job to deploy")
        }
        try refused([], "Choose a completed training job to deploy")
        let ranges: [(String, String, String)] = [
            ("replicas", "0", "Replicas must be a whole number from 1 to 100."), ("replicas", "101", "Replicas must be"),
            ("replicas", "two", "Replicas must be"), ("replicas", "2.5", "Replicas must be"),
            ("cpu", "0.4", "CPU must be a number of cores from 0.5 to 32."), ("cpu", "33", "CPU must be"), ("cpu", "nan", "CPU must be"),
            ("cpu", "inf", "CPU must be"), ("memory_mb", "511", "Memory must be a whole number of MB from 512 to 65536."),
            ("memory_mb", "65537", "Memory must be"), ("gpu", "9", "GPUs must be a whole number from 0 to 8."), ("gpu", "-1", "GPUs must be"),
            ("storage_gb", "0", "Storage must be a whole number of GB from 1 to 1000."), ("storage_gb", "1001", "Storage must be"),
            ("storage_gb", "lots", "Storage must be"), ("name", "has spaces", "Use letters, numbers, hyphens"),
            ("name", String(repeating: "x", count: 101), "Keep the deployment name to 100 characters"),
        ]
        for (field, value, message) in ranges {
            try refused([("job_id", String(done)), (field, value)], message)
        }
        // From the full form, a refusal comes back with what was typed and a message per field.
        try browser.get("/deployments/new?job_id=\(done)")
        let response = try browser.post("/deployments", [("job_id", String(done)), ("from", "form"), ("replicas", "500"), ("cpu", "0.1"), ("gpu", "2")])
        #expect(response.header("Location") == "/deployments/new?job_id=\(done)")
        let form = try browser.get("/deployments/new?job_id=\(done)")
        #expect(form.body.contains("Please fix the 2 highlighted fields."))
        #expect(form.body.contains("value=\"500\""))
        #expect(form.body.contains("value=\"0.1\""))
        #expect(form.body.contains("aria-invalid=\"true\""))
        #expect(try Fixtures.count(db, "deployments") == 0)
        #expect(try browser.get("/deployments/new?job_id=424242").status == 404)
        #expect(try browser.get("/deployments/new?job_id=\(runningJob)").body.contains("Only completed training jobs can be deployed."))

        // The chosen values are used when they are valid.
        let ok = try browser.post("/deployments", [("job_id", String(done)), ("from", "form"), ("name", "my-intents"), ("replicas", "4"),
                                                   ("cpu", "1.5"), ("memory_mb", "2048"), ("gpu", "0"), ("storage_gb", "5")])
        #expect(ok.header("Location") == "/deployments")
        let id = try #require(try db.queryOne("SELECT id FROM deployments")?.int("id"))
        #expect(try browser.get("/deployments").body.contains("Deploying my-intents (v1.0.0): starting 4 replicas."))
        #expect(try Fixtures.replicaStatuses(db, id) == ["pending", "pending", "pending", "pending"])
        let resources = try #require(try DeploymentStore(database: db).resources(id))
        #expect(resources == DeploymentResources(cpu: 1.5, memoryMB: 2048, gpu: 0, storageGB: 5))
        // The one-click default for a small model.
        let defaults = DeploymentResources.defaults(for: .small)
        #expect(defaults.replicas == 2)
    }
}

/// Results written from concurrent threads.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [(Int, Int, String)]
    init(count: Int) { storage = Array(repeating: (0, 0, ""), count: count) }
    func set(_ i: Int, _ value: (Int, Int, String)) { lock.lock(); storage[i] = value; lock.unlock() }
    var values: [(Int, Int, String)] { lock.lock(); defer { lock.unlock() }; return storage }
}

@Suite struct DeployedJobLinksTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func aJobWithALiveDeploymentLinksToItInsteadOfOfferingDeploy(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let model = try Fixtures.model(running.database)
        let served = try Fixtures.completeJob(running.database, modelID: model, name: "served")
        let idle = try Fixtures.completeJob(running.database, modelID: model, name: "idle")
        let deployment = try Fixtures.deployment(running.database, jobID: served)
        let browser = try running.browser()

        let list = try browser.get("/training/jobs?status=complete&sort=name&dir=asc")
        let idleRow = try #require(list.body.components(separatedBy: "<tr>").first { $0.contains(">idle</a>") })
        let servedRow = try #require(list.body.components(separatedBy: "<tr>").first { $0.contains(">served</a>") })
        #expect(idleRow.contains(">Deploy</button>"))
        #expect(servedRow.contains("href=\"/deployments/\(deployment)\""))
        #expect(!servedRow.contains(">Deploy</button>"))

        let monitor = try browser.get("/training/jobs/\(served)")
        #expect(monitor.body.contains("View its deployment"))
        #expect(!monitor.body.contains("Deploy with options"))
        #expect(try browser.get("/training/jobs/\(idle)").body.contains("Deploy with options"))

        // Once the deployment is deleted the job can be deployed again.
        try browser.get("/deployments/\(deployment)")
        #expect(try browser.post("/deployments/\(deployment)/delete", []).status == 303)
        #expect(try browser.get("/training/jobs/\(served)").body.contains("Deploy with options"))
    }
}
