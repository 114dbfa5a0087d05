import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

/// The training half of the lifecycle, over a real socket, on both databases.
@Suite struct TrainingEndToEndTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func createStartRunCompleteAndReadEveryStep(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind) { $0.simulationSpeed = 1000 }
        defer { running.stop() }
        try Fixtures.model(running.database, slug: "lfm2-350m", name: "LFM2 350M", parameters: 354_000_000)
        let browser = try running.browser()

        let form = try browser.get("/training/configure?model=lfm2-350m")
        #expect(form.status == 200)
        #expect(form.body.contains("<option value=\"lfm2-350m\" selected>"))

        let created = try browser.post("/training/jobs", [("name", "intent classifier"), ("model", "lfm2-350m"), ("epochs", "2"),
                                                          ("learning_rate", "3e-4"), ("batch_size", "32"), ("notes", "**bold** note")])
        #expect(created.status == 303)
        let location = try #require(created.header("Location"))
        #expect(location.hasPrefix("/training/jobs/"))
        let id = try #require(Int(location.split(separator: "/").last!))

        let monitor = try browser.get(location)
        #expect(monitor.status == 200)
        #expect(monitor.body.contains("Training job created"))
        #expect(monitor.body.contains("intent classifier"))
        #expect(monitor.body.contains("<strong>bold</strong>"))
        #expect(monitor.body.contains("Queued"))
        // The flash shows once.
        #expect(!(try browser.get(location).body.contains("Training job created")))

        let started = try browser.post("/training/jobs/\(id)/start", [])
        #expect(started.status == 303)
        let afterStart = try browser.get(location)
        #expect(afterStart.body.contains("Training started"))
        #expect(afterStart.body.contains("http-equiv=\"refresh\""))

        let work = running.app.startBackgroundWork()
        defer { work.stop(); work.waitUntilStopped() }
        let deadline = Date().addingTimeInterval(20)
        while try Fixtures.jobStatus(running.database, id) == "running" && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(try Fixtures.jobStatus(running.database, id) == "complete")

        let done = try browser.get(location)
        #expect(done.body.contains("Complete"))
        #expect(!done.body.contains("http-equiv=\"refresh\""))
        #expect(done.body.contains("data-live=\"step\">200</span> of 200"))

        let api = try running.send("/api/training/\(id)/metrics")
        #expect(api.status == 200)
        #expect(api.header("Content-Type")?.hasPrefix("application/json") == true)
        let decoded = try JSONDecoder().decode(APIBody.self, from: Data(api.body.utf8))
        #expect(decoded.job.status == "complete")
        #expect(decoded.metrics.map(\.key) == ["loss", "accuracy"])
        let loss = try #require(decoded.metrics.first)
        #expect(loss.points.map(\.step) == Array(1...200))
        #expect(loss.points.last!.value < loss.points.first!.value)

        let since = try JSONDecoder().decode(APIBody.self, from: Data(try running.send("/api/training/\(id)/metrics?since=150&key=accuracy").body.utf8))
        #expect(since.metrics.map(\.key) == ["accuracy"])
        #expect(since.metrics[0].points.map(\.step) == Array(151...200))
        #expect(since.metrics[0].points.allSatisfy { (0...1).contains($0.value) })
        // Asking for a key the job never logged says which keys it has.
        let unknown = try running.send("/api/training/\(id)/metrics?key=perplexity")
        #expect(unknown.status == 404)
        #expect(unknown.body.contains("loss, accuracy"))
    }

    struct APIBody: Decodable {
        struct Job: Decodable { var id: Int; var status: String; var current_step: Int; var source: String }
        struct Point: Decodable { var step: Int; var value: Double; var timestamp: String }
        struct Series: Decodable { var key: String; var points: [Point] }
        var job: Job
        var metrics: [Series]
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func stopAndIllegalTransitions(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let id = try running.queuedJob()
        let browser = try running.browser()
        try browser.get("/training/jobs/\(id)")

        #expect(try browser.post("/training/jobs/\(id)/start", []).status == 303)
        #expect(try Fixtures.jobStatus(running.database, id) == "running")
        // Starting a running job is refused with a flash and changes nothing.
        #expect(try browser.post("/training/jobs/\(id)/start", []).status == 303)
        #expect(try browser.get("/training/jobs/\(id)").body.contains("Only queued jobs can be started"))
        #expect(try Fixtures.jobStatus(running.database, id) == "running")

        #expect(try browser.post("/training/jobs/\(id)/stop", []).status == 303)
        let stopped = try browser.get("/training/jobs/\(id)")
        #expect(stopped.body.contains("Training stopped"))
        #expect(stopped.body.contains("stopped by user"))
        #expect(try Fixtures.jobStatus(running.database, id) == "failed")

        try browser.post("/training/jobs/\(id)/stop", [])
        #expect(try browser.get("/training/jobs/\(id)").body.contains("Only queued or running jobs can be stopped"))

        #expect(try browser.post("/training/jobs/999999/start", []).status == 404)
        #expect(try browser.post("/training/jobs/abc/stop", []).status == 404)
        #expect(try browser.get("/training/jobs/999999").status == 404)
        #expect(try running.send("/api/training/abc/metrics").status == 400)
        #expect(try running.send("/api/training/424242/metrics").status == 404)
        #expect(try running.send("/api/training/\(id)/metrics?since=-4").status == 400)

        // Counters follow every transition.
        let counts = try running.database.query("SELECT status, count FROM job_status_counts")
        let failed = try counts.first { try $0.string("status") == "failed" }!.int("count")
        #expect(failed == 1)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func validationErrorsKeepWhatTheUserTyped(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        try Fixtures.model(running.database, slug: "m1")
        let browser = try running.browser()
        try browser.get("/training/configure")
        let refused = try browser.post("/training/jobs", [("name", "my <job>"), ("model", "nope"), ("epochs", "500"),
                                                          ("learning_rate", "fast"), ("batch_size", "7"), ("notes", "keep me")])
        #expect(refused.status == 303)
        #expect(refused.header("Location") == "/training/configure")
        let form = try browser.get("/training/configure")
        #expect(form.body.contains("Please fix the 5 highlighted fields"))
        #expect(form.body.contains("value=\"my &lt;job&gt;\""))
        #expect(form.body.contains("value=\"500\""))
        #expect(form.body.contains("value=\"fast\""))
        #expect(form.body.contains(">keep me</textarea>"))
        #expect(form.body.contains("Epochs must be a whole number from 1 to 100."))
        #expect(form.body.contains("Choose a model from the catalogue."))
        #expect(form.body.contains("aria-invalid=\"true\""))
        #expect(form.body.contains("aria-describedby=\"job-epochs-hint job-epochs-error\""))
        #expect(try Fixtures.count(running.database, "training_jobs") == 0)

        for (field, value, message) in [("name", "", "Enter a name for the job."), ("learning_rate", "0", "Learning rate must be"),
                                        ("learning_rate", "2", "Learning rate must be"), ("epochs", "0", "Epochs must be"),
                                        ("epochs", "1.5", "Epochs must be"), ("learning_rate", "nan", "Learning rate must be")] {
            var fields: [String: String] = ["name": "ok", "model": "m1", "epochs": "3", "learning_rate": "0.001", "batch_size": "32"]
            fields[field] = value
            try browser.post("/training/jobs", fields.sorted { $0.key < $1.key })
            #expect(try browser.get("/training/configure").body.contains(message), "\(field)=\(value)")
        }
        #expect(try Fixtures.count(running.database, "training_jobs") == 0)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func postsWithoutAValidCSRFTokenAreRefused(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        try Fixtures.model(running.database, slug: "m1")
        let browser = try running.browser()
        try browser.get("/training/configure")
        let fields = [("name", "x"), ("model", "m1"), ("epochs", "1"), ("learning_rate", "0.001"), ("batch_size", "32")]
        #expect(try browser.post("/training/jobs", fields, includeCSRF: false).status == 403)
        #expect(try browser.post("/training/jobs", fields, csrf: "forged").status == 403)
        // A token from another session does not work with this session's cookie.
        let other = try running.browser()
        try other.get("/training/configure")
        #expect(try browser.post("/training/jobs", fields, csrf: other.csrfToken()).status == 403)
        // No session at all: sent to sign in, nothing created.
        let anonymous = running.anonymousBrowser()
        let refused = try anonymous.post("/training/jobs", fields, csrf: browser.csrfToken())
        #expect(refused.status == 303 && refused.header("Location") == "/login")
        #expect(try Fixtures.count(running.database, "training_jobs") == 0)
        #expect(try browser.post("/training/jobs", fields).status == 303)
        #expect(try Fixtures.count(running.database, "training_jobs") == 1)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func tamperedFlashCookieIsIgnored(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let id = try running.queuedJob()
        let browser = try running.browser()
        try browser.get("/training/jobs/\(id)")
        try browser.post("/training/jobs/\(id)/start", [])
        let genuine = try #require(browser.cookies["ty_flash"])
        // Swap the payload for one saying something else, keeping the old signature.
        let signature = genuine.split(separator: ".")[1]
        let forgedPayload = Base64URL.encode(Array(#"{"fieldErrors":{},"kind":"error","message":"Your account is locked","values":{}}"#.utf8))
        browser.cookies["ty_flash"] = forgedPayload + "." + signature
        let page = try browser.get("/training/jobs/\(id)")
        #expect(page.status == 200)
        #expect(!page.body.contains("Your account is locked"))
        #expect(!page.body.contains("Training started"))
    }
}

@Suite struct JobsListQueryTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func everyParameterIncludingMalformedOnesAnswers200WithTheAppliedState(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let small = try Fixtures.model(running.database, slug: "small-one", name: "Small One")
        let big = try Fixtures.model(running.database, slug: "big-one", name: "Big One", parameters: 8_000_000_000)
        for i in 1...30 { try Fixtures.job(running.database, modelID: i % 2 == 0 ? small : big, name: "job-\(String(format: "%02d", i))", epochs: i % 5 + 1) }
        let browser = try running.browser()

        let first = try browser.get("/training/jobs")
        #expect(first.status == 200)
        #expect(first.body.contains("All jobs, sorted by created, descending, page 1, 25 per page."))
        #expect(first.body.contains("rel=\"next\""))

        for key in ["name", "model", "status", "epochs", "lr", "progress", "created"] {
            for dir in ["asc", "desc"] {
                let page = try browser.get("/training/jobs?sort=\(key)&dir=\(dir)")
                #expect(page.status == 200, "sort=\(key) dir=\(dir)")
                #expect(page.body.contains(dir == "asc" ? "ascending, page 1" : "descending, page 1"))
            }
        }
        let byName = try browser.get("/training/jobs?sort=name&dir=asc&per=5")
        let names = byName.body.components(separatedBy: "\">job-").dropFirst().map { String($0.prefix(2)) }
        #expect(names == ["01", "02", "03", "04", "05"])
        #expect(byName.body.contains("aria-sort=\"ascending\""))

        let filtered = try browser.get("/training/jobs?q=JOB-0&model=small-one")
        #expect(filtered.body.contains("Jobs matching “JOB-0”, for model Small One"))
        #expect(filtered.body.components(separatedBy: "\">job-0").count - 1 == 4)

        let none = try browser.get("/training/jobs?q=zzz")
        #expect(none.body.contains("No jobs match these filters."))

        for bad in ["sort=drop%20table", "dir=sideways", "page=-1", "page=abc", "per=100000", "per=0", "status=bogus", "model=nope",
                    "q=%25", "q=%27%3B--", "page=99999999999999999999", "status=queued&status=queued", "q=" + String(repeating: "a", count: 500)] {
            let page = try browser.get("/training/jobs?\(bad)")
            #expect(page.status == 200, "\(bad)")
            #expect(page.body.contains("page "), "\(bad)")
        }
        let clamped = try browser.get("/training/jobs?per=100000&sort=nonsense")
        #expect(clamped.body.contains("sorted by created, descending"))
        // Past the last page: said so, with a way back (the jobs list used to call this "no matches").
        let past = try browser.get("/training/jobs?page=50")
        #expect(past.body.contains("There are no jobs on page 50."))
        #expect(!past.body.contains("No jobs match these filters."))
        #expect(past.body.contains("href=\"/training/jobs\">Go to the first page"))
        #expect(past.body.contains("rel=\"prev\""))
        // Deeper than the deepest page served: clamped to it, with a note, as on the deployments table.
        let deep = try browser.get("/training/jobs?page=9000&per=100")
        #expect(deep.status == 200)
        #expect(deep.body.contains("page 101, 100 per page."))
        #expect(deep.body.contains("Pages deeper than 101 are not served"))
        let statusFiltered = try browser.get("/training/jobs?status=queued&status=bogus")
        #expect(statusFiltered.body.contains("Jobs with status queued"))
        #expect(statusFiltered.body.contains("value=\"queued\" checked"))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func emptyStateDiffersFromNoMatches(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let page = try running.browser().get("/training/jobs")
        #expect(page.body.contains("No training jobs yet."))
        #expect(page.body.contains("href=\"/training/configure\""))
    }
}
