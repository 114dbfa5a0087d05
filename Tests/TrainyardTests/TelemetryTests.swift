import Foundation
import PrometheusText
import ScrapeClient
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

/// A clock the test moves by hand, shared with the scraper's threads.
private final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var time: Date
    init(_ time: Date) { self.time = time }
    var now: Date { lock.lock(); defer { lock.unlock() }; return time }
    func set(_ date: Date) { lock.lock(); time = date; lock.unlock() }
}

/// An active deployment of a fresh model and job; returns its id.
private func activeDeployment(_ db: Database, slug: String = "scraped-model") throws -> Int {
    let model = try Fixtures.model(db, slug: slug, name: slug)
    let id = try Fixtures.deployment(db, jobID: try Fixtures.completeJob(db, modelID: model, name: slug + "-job"))
    try db.execute("UPDATE deployments SET status = 'active' WHERE id = $1", [.int(Int64(id))])
    return id
}

private let prometheusClient = SourceChoice(kind: .scraped, targetURL: nil, intervalSeconds: 5, preset: .prometheusClient,
                                            mapping: ScrapePreset.prometheusClient.mapping)

private func rows(_ db: Database, _ id: Int) throws -> [(minute: Int, requests: Int, errors: Int, seconds: Double, p50: Double, p95: Double, p99: Double, source: String)] {
    try db.query("""
        SELECT bucket, requests, errors, seconds, p50_ms, p95_ms, p99_ms, source FROM inference_metrics WHERE deployment_id = $1 ORDER BY bucket
        """, [.int(Int64(id))]).map {
        (Int(try $0.date("bucket").timeIntervalSince1970 / 60), try $0.int("requests"), try $0.int("errors"), try $0.double("seconds"),
         try $0.double("p50_ms"), try $0.double("p95_ms"), try $0.double("p99_ms"), try $0.string("source"))
    }
}

/// Scraping a metrics page over a real socket into per-minute rows, on both databases.
@Suite struct ScrapeTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func scrapesBecomeMinutesWithRatesErrorsAndQuantilesAcrossResetsAndFailures(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let target = try MetricsTarget()
        defer { target.stop() }
        let id = try activeDeployment(db)
        let minute = Int(Date().timeIntervalSince1970 / 60) - 10
        let t0 = Double(minute) * 60 + 2
        // A simulated minute from before the switch: a deployment never mixes sources.
        _ = try db.transaction { try DeploymentStore.insertBucket($0, id, .init(minute: minute - 1, requests: 600, errors: 1, p50: 40, p95: 90, p99: 150)) }

        let clock = TestClock(Date(timeIntervalSince1970: t0))
        var choice = prometheusClient
        choice.targetURL = target.url
        let store = InferenceSourceStore(database: db)
        #expect(try store.set(id, to: choice, by: .system, now: clock.now) == .changed(cleared: 1))
        #expect(try DeploymentStore(database: db).find(id)?.metricsSource == .scraped)
        let runner = ScrapeRunner(store: store, client: ScrapeClient(allowlist: .loopbackOnly), clock: { clock.now })
        func scrape(at offset: Double, expectScrapes: Int = 1, sourceLocation: SourceLocation = #_sourceLocation) throws {
            clock.set(Date(timeIntervalSince1970: t0 + offset))
            let report = try runner.tick()
            #expect(report.scraped + report.failed == expectScrapes, "scrapes at +\(offset) s", sourceLocation: sourceLocation)
        }

        // The first scrape is only a baseline: an increase needs two readings.
        target.page = MetricsTarget.page(ok: 100, failed: 0, buckets: [("0.05", 50), ("0.1", 80), ("0.25", 95), ("0.5", 100), ("+Inf", 100)])
        try scrape(at: 0)
        #expect(try rows(db, id).isEmpty, "no figures from one scrape, and the simulated minute is gone")
        var source = try #require(try store.find(id))
        #expect(source.up == true && source.lastError == nil)
        // Not due again before the interval.
        try scrape(at: 4, expectScrapes: 0)

        // 100 requests in 5 s, 10 of them failed (a status series that did not exist before counts from 0).
        target.page = MetricsTarget.page(ok: 190, failed: 10, buckets: [("0.05", 100), ("0.1", 160), ("0.25", 190), ("0.5", 198), ("+Inf", 200)])
        try scrape(at: 5)
        var stored = try rows(db, id)
        #expect(stored.count == 1)
        #expect(stored.first?.minute == minute && stored.first?.requests == 100 && stored.first?.errors == 10 && stored.first?.seconds == 5)
        #expect(stored.first?.source == "scraped")
        // Increases by bucket: 50, 80, 95, 98, 100. P50: rank 50 ends the first bucket → 0.05 s.
        // P95: rank 95 ends the third → 0.25 s. P99: rank 99 lies in +Inf → the highest finite bound, 0.5 s.
        #expect(stored.first?.p50 == 50 && stored.first?.p95 == 250 && stored.first?.p99 == 500)
        let d = try #require(try DeploymentStore(database: db).find(id))
        #expect(d.stats.rps == 20 && d.stats.errorRate == 0.1, "the latest window is on the row the table sorts by")

        // The model server restarted: every series is lower. Its whole value is the increase.
        target.page = MetricsTarget.page(ok: 20, failed: 0, buckets: [("0.05", 10), ("0.1", 15), ("0.25", 18), ("0.5", 20), ("+Inf", 20)])
        try scrape(at: 10)
        stored = try rows(db, id)
        #expect(stored.count == 1)
        #expect(stored.first?.requests == 120 && stored.first?.errors == 10 && stored.first?.seconds == 10, "no negative and no spike")
        // Buckets 60, 95, 113, 118, 120: P95 rank 114 is 1 of the 5 between 0.25 and 0.5 s → 0.3 s.
        #expect(stored.first?.p50 == 50 && stored.first?.p95 == 300 && stored.first?.p99 == 500)

        // A failed scrape: down since then, the last error, and a gap rather than a zero.
        target.status = 503
        try scrape(at: 15)
        source = try #require(try store.find(id))
        #expect(source.up == false)
        #expect(source.downSince == Date(timeIntervalSince1970: t0 + 15))
        #expect(source.lastError?.contains("503") == true, "\(source.lastError ?? "")")
        try scrape(at: 20)
        #expect(try store.find(id)?.downSince == Date(timeIntervalSince1970: t0 + 15), "down since the first failure")
        #expect(try rows(db, id).map(\.requests) == [120])

        // The second failure in a row backs off: tried again after two intervals, not one.
        target.status = 200
        target.page = MetricsTarget.page(ok: 400, failed: 0, buckets: [("0.05", 200), ("0.1", 300), ("0.25", 380), ("0.5", 400), ("+Inf", 400)])
        try scrape(at: 25, expectScrapes: 0)
        // Back: the first success only starts a new reading (nothing is taken across the gap).
        try scrape(at: 30)
        #expect(try rows(db, id).map(\.requests) == [120])
        source = try #require(try store.find(id))
        #expect(source.up == true && source.downSince == nil && source.lastError == nil)
        target.page = MetricsTarget.page(ok: 410, failed: 0, buckets: [("0.05", 205), ("0.1", 310), ("0.25", 390), ("0.5", 410), ("+Inf", 410)])
        try scrape(at: 35)
        stored = try rows(db, id)
        #expect(stored.first?.requests == 130 && stored.first?.seconds == 15)

        // The next minute gets a row of its own.
        target.page = MetricsTarget.page(ok: 470, failed: 6, buckets: [("0.05", 240), ("0.1", 360), ("0.25", 450), ("0.5", 470), ("+Inf", 476)])
        try scrape(at: 60)
        stored = try rows(db, id)
        #expect(stored.map(\.minute) == [minute, minute + 1])
        #expect(stored.last?.requests == 66 && stored.last?.errors == 6 && stored.last?.seconds == 25)

        // The simulation never writes figures for a scraped deployment.
        try DeploymentRunner(database: db, speed: 1).tick(now: Date())
        #expect(try rows(db, id).allSatisfy { $0.source == "scraped" })
    }

    @Test func aTargetThatKeepsFailingIsTriedLessOftenUpToEightIntervals() {
        #expect((1...6).map { InferenceSourceStore.retryDelay(interval: 5, failures: $0) } == [5, 10, 20, 40, 40, 40])
        #expect(InferenceSourceStore.retryDelay(interval: 60, failures: 9) == 300, "never more than 5 minutes")
        #expect(InferenceSourceStore.retryDelay(interval: 300, failures: 9) == 300)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aPageWithoutTheMappedSeriesOrNotInTheFormatIsAnErrorNotFigures(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let target = try MetricsTarget()
        defer { target.stop() }
        let id = try activeDeployment(running.database)
        var choice = prometheusClient
        choice.targetURL = target.url
        let store = InferenceSourceStore(database: running.database)
        _ = try store.set(id, to: choice, by: .system, now: Date())
        let runner = ScrapeRunner(store: store, client: ScrapeClient(allowlist: .loopbackOnly))

        target.page = "# TYPE something_else counter\nsomething_else_total 3\n"
        try runner.tick()
        var source = try #require(try store.find(id))
        #expect(source.up == false)
        #expect(source.lastError?.contains("no series named") == true, "\(source.lastError ?? "")")

        try running.database.execute("UPDATE inference_sources SET next_scrape_at = $1", [.date(Date())])
        target.page = "requests_total{status=\"200\" 12\n"
        try runner.tick()
        source = try #require(try store.find(id))
        #expect(source.up == false)
        #expect(source.lastError?.hasPrefix("the page is not in the Prometheus text format") == true, "\(source.lastError ?? "")")
        #expect(try rows(running.database, id).isEmpty)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aScrapeInFlightAcrossAChangeOfSourceIsDropped(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let id = try activeDeployment(running.database)
        var choice = prometheusClient
        choice.targetURL = "http://127.0.0.1:9/metrics"
        let store = InferenceSourceStore(database: running.database)
        _ = try store.set(id, to: choice, by: .system, now: Date())
        let claims = try store.claimDue(now: Date(), limit: 10)
        #expect(claims.count == 1)
        #expect(try store.claimDue(now: Date(), limit: 10).isEmpty, "claimed once per interval")
        choice.intervalSeconds = 30
        _ = try store.set(id, to: choice, by: .system, now: Date())
        #expect(try store.record(claims[0], .failed("late"), at: Date()) == false)
        #expect(try store.find(id)?.up == nil, "the new configuration has no verdict yet")
    }
}

/// What an operator sees: the source form, refusals that keep what was typed, the table filter.
@Suite struct SourcePageTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func theSourceFormRefusesWithMessagesAndKeepsWhatWasTyped(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind) { $0.scrapeAllowlist = try! ScrapeAllowlist(parsing: "10.0.0.0/8") }
        defer { running.stop() }
        let id = try activeDeployment(running.database)
        let browser = try running.browser(as: .operator)
        let page = try browser.get(Paths.deployment(id))
        #expect(page.body.contains("Metrics source") && page.body.contains("Simulated"))

        for (url, message) in [("file:///etc/passwd", "http and https"), ("gopher://10.0.0.1:70/", "http and https"),
                               ("http://127.0.0.1:8000/metrics", "outside the scrape allowlist")] {
            let refused = try browser.post(Paths.deployment(id) + "/source", [("source", "scraped"), ("target_url", url), ("interval_seconds", "15"),
                                                                             ("preset", "prometheus_client")])
            #expect(refused.status == 303)
            let back = try browser.get(Paths.deployment(id))
            #expect(back.body.contains(message), "\(url): \(message)")
            #expect(back.body.contains("value=\"\(url.replacingOccurrences(of: "&", with: "&amp;"))\""), "\(url) is still in the field")
        }
        #expect(try Fixtures.count(running.database, "inference_sources") == 0, "nothing was saved")

        // A custom mapping needs its names; a bad interval is named.
        _ = try browser.post(Paths.deployment(id) + "/source", [("source", "scraped"), ("target_url", "http://10.0.0.5:8000/metrics"),
                                                                ("interval_seconds", "2"), ("preset", "custom"), ("histogram", "9bad")])
        let back = try browser.get(Paths.deployment(id))
        #expect(back.body.contains(SourceForm.interval.message))
        #expect(back.body.contains("is not a metric name"))
        #expect(back.body.contains("Give the requests counter"))
        #expect(back.body.contains("Give a failure counter, or an error matcher"))

        // Accepted: the panel shows the target, waiting for its first scrape; the table filters by it.
        let saved = try browser.post(Paths.deployment(id) + "/source", [("source", "scraped"), ("target_url", "http://10.0.0.5:8000/metrics"),
                                                                        ("interval_seconds", "15"), ("preset", "vllm")])
        #expect(saved.status == 303)
        let audit = try #require(try running.database.queryOne(
            "SELECT actor, details FROM audit_log WHERE action = 'deployment.source' ORDER BY id DESC LIMIT 1"))
        #expect(try audit.string("actor") == "test-operator" && audit.string("details").contains("http://10.0.0.5:8000/metrics"), "the change is audited")
        let shown = try browser.get(Paths.deployment(id))
        #expect(shown.body.contains("http://10.0.0.5:8000/metrics"))
        #expect(shown.body.contains("vllm:e2e_request_latency_seconds"))
        #expect(shown.body.contains("waiting"))
        #expect(try browser.get("/deployments?source=scraped").body.contains(Paths.deployment(id)))
        #expect(!(try browser.get("/deployments?source=scraped&up=0").body.contains(Paths.deployment(id))), "not down: never scraped yet")
        try running.database.execute("UPDATE inference_sources SET up = 0, down_since = $1, last_error = 'the target answered 503'", [.date(Date())])
        let down = try browser.get(Paths.deployment(id))
        #expect(down.body.contains("down since") || down.body.contains("down</span> since"))
        #expect(down.body.contains("the target answered 503"))
        let downTable = try browser.get("/deployments?source=scraped&up=0").body
        #expect(downTable.contains(Paths.deployment(id)) && downTable.contains("scraping down"))
        let flag = "<span class=\"attention-flag\">scraping down</span>"
        #expect(try browser.get("/deployments").body.contains(flag), "the row itself is flagged, not only the filter named")
        #expect(try browser.get("/deployments?up=0").body.contains(Paths.deployment(id)), "up=0 means a scraped source")
        #expect(!(try browser.get("/deployments?source=simulated").body.contains(Paths.deployment(id))))

        // A viewer sees the source but not the form, and cannot post it.
        let viewer = try running.browser(as: .viewer)
        let viewed = try viewer.get(Paths.deployment(id))
        #expect(viewed.body.contains("http://10.0.0.5:8000/metrics") && !viewed.body.contains("Save the source"))
        #expect(try viewer.post(Paths.deployment(id) + "/source", [("source", "simulated")]).status == 403)
    }
}

/// `PUT …/source`, `GET`/`POST …/inference` with tokens, on both databases.
@Suite struct InferenceAPITests {
    func send(_ running: RunningApp, _ method: String, _ path: String, json: String? = nil, role: Role = .operator) throws -> (Int, [String: Any]) {
        var headers = [("Authorization", "Bearer " + (try running.token(role)))]
        if json != nil { headers.append(("Content-Type", "application/json")) }
        let response = try TestHTTPClient.send(port: running.port, method: method, path: path, headers: headers, body: json ?? "")
        return (response.status, (try? JSONSerialization.jsonObject(with: Data(response.body.utf8))) as? [String: Any] ?? [:])
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func sourcesAreSetRefusedAndShownOnTheDeployment(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let id = try activeDeployment(running.database)
        let path = Paths.deploymentAPI(id) + "/source"
        var (status, body) = try send(running, "PUT", path, json: #"{"kind": "scraped", "target_url": "file:///etc/passwd"}"#)
        #expect(status == 400 && body["field"] as? String == "target_url")
        #expect((body["errors"] as? [String: String])?["target_url"]?.contains("http and https") == true)
        (status, body) = try send(running, "PUT", path, json: #"{"kind": "scraped", "target_url": "http://127.0.0.1:9/metrics", "interval_seconds": "5"}"#)
        #expect(status == 400 && body["field"] as? String == "interval_seconds")
        (status, body) = try send(running, "PUT", path, json: #"{"kind": "sometimes"}"#)
        #expect(status == 400 && body["field"] as? String == "kind")
        (status, _) = try send(running, "PUT", path, json: #"{"kind": "pushed"}"#, role: .viewer)
        #expect(status == 403)

        (status, body) = try send(running, "PUT", path, json: #"{"kind": "scraped", "target_url": "http://127.0.0.1:9/metrics", "interval_seconds": 5, "preset": "tgi"}"#)
        #expect(status == 200)
        let source = try #require(body["metrics_source"] as? [String: Any])
        #expect(source["kind"] as? String == "scraped" && source["histogram"] as? String == "tgi_request_duration")
        #expect(source["interval_seconds"] as? Int == 5 && source["up"] == nil)
        (status, body) = try send(running, "GET", Paths.deploymentAPI(id))
        #expect((body["metrics_source"] as? [String: Any])?["failure_counter"] as? String == "tgi_request_failure")
        let history = try #require(body["history"] as? [[String: Any]])
        #expect(history.contains { $0["event"] as? String == "source" && ($0["reason"] as? String)?.contains("scraped from http://127.0.0.1:9/metrics") == true })

        // The table's filters in the API: scraped and down.
        let other = try activeDeployment(running.database, slug: "still-simulated")
        (status, body) = try send(running, "GET", "/api/deployments?source=scraped&up=0")
        #expect(status == 200 && (body["deployments"] as? [[String: Any]])?.isEmpty == true, "never scraped: not down")
        #expect(body["source"] as? String == "scraped" && body["up"] as? Bool == false)
        try running.database.execute("UPDATE inference_sources SET up = 0, down_since = $1", [.date(Date())])
        (status, body) = try send(running, "GET", "/api/deployments?source=scraped&up=0")
        #expect((body["deployments"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [id])
        (status, body) = try send(running, "GET", "/api/deployments?source=simulated")
        #expect((body["deployments"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [other])
        (status, body) = try send(running, "GET", "/api/deployments")
        #expect(body["source"] == nil && body["up"] == nil && body["attention"] == nil, "only filters applied are reported")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func pushedWindowsAreIdempotentPerMinuteAndRefusedWhenOldFutureOrInconsistent(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let id = try activeDeployment(running.database)
        let path = Paths.deploymentAPI(id) + "/inference"
        let minute = (Date().timeIntervalSince1970 / 60).rounded(.down) * 60
        func iso(_ seconds: Double) -> String { Format.iso(Date(timeIntervalSince1970: seconds)) }
        let window = #"{"windows": [{"minute": "\#(iso(minute - 60))", "requests": 600, "errors": 6, "p50_ms": 10, "p95_ms": 30, "p99_ms": 60}]}"#

        var (status, body) = try send(running, "POST", path, json: window)
        #expect(status == 409, "the source is simulated: \(body)")
        (status, _) = try send(running, "PUT", Paths.deploymentAPI(id) + "/source", json: #"{"kind": "pushed"}"#)
        #expect(status == 200)
        for _ in 0..<2 {
            (status, body) = try send(running, "POST", path, json: window)
            #expect(status == 200 && body["accepted"] as? Int == 1)
        }
        (status, body) = try send(running, "GET", path)
        let windows = try #require(body["windows"] as? [[String: Any]])
        #expect(windows.count == 1, "the same minute twice is one minute")
        #expect(windows.first?["requests"] as? Int == 600 && windows.first?["requests_per_second"] as? Double == 10)
        #expect(windows.first?["error_rate"] as? Double == 0.01 && windows.first?["p95_ms"] as? Double == 30)
        #expect(windows.first?["source"] as? String == "pushed")
        #expect(try DeploymentStore(database: running.database).find(id)?.stats.rps == 10)

        let refusals: [(String, String, String)] = [
            (#"{"minute": "\#(iso(minute - 9 * 86_400))", "requests": 1}"#, "windows[0].minute", "more than 8 days old"),
            (#"{"minute": "\#(iso(minute + 120))", "requests": 1}"#, "windows[0].minute", "in the future"),
            (#"{"minute": "\#(iso(minute - 30))", "requests": 1}"#, "windows[0].minute", "start of a minute"),
            (#"{"minute": "\#(iso(minute - 60))", "requests": 5, "errors": 6, "p50_ms": 1, "p95_ms": 2, "p99_ms": 3}"#, "windows[0].errors", "to the window's requests"),
            (#"{"minute": "\#(iso(minute - 60))", "requests": 5, "p50_ms": 9, "p95_ms": 2, "p99_ms": 3}"#, "windows[0].p95_ms", "p50_ms ≤ p95_ms ≤ p99_ms"),
            (#"{"minute": "\#(iso(minute - 60))", "requests": -1}"#, "windows[0].requests", "whole number"),
            (#"{"minute": "\#(iso(minute - 60))", "requests": 5}"#, "windows[0].p50_ms", "number of milliseconds"),
        ]
        for (item, field, message) in refusals {
            (status, body) = try send(running, "POST", path, json: #"{"windows": [\#(item)]}"#)
            #expect(status == 400 && body["field"] as? String == field, "\(item): \(body)")
            #expect((body["message"] as? String)?.contains(message) == true, "\(item): \(body["message"] ?? "")")
        }
        (status, _) = try send(running, "POST", path, json: #"{"windows": [], "extra": 1}"#)
        #expect(status == 400)
        (status, _) = try send(running, "POST", path, json: window, role: .viewer)
        #expect(status == 403)
        (status, body) = try send(running, "GET", path + "?since=yesterday")
        #expect(status == 400 && body["field"] as? String == "since")
        (status, _) = try send(running, "GET", Paths.deploymentAPI(999_999) + "/inference")
        #expect(status == 404)
        // Nothing refused was stored.
        (status, body) = try send(running, "GET", path + "?since=" + iso(minute - 8 * 86_400))
        #expect((body["windows"] as? [[String: Any]])?.count == 1)
    }
}

/// The deploy form's source fields: a refused source deploys nothing and keeps what was typed.
@Suite struct DeployFormSourceTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func aRefusedSourceDeploysNothingAndAnAcceptedOneIsSetOnTheNewDeployment(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let job = try Fixtures.completeJob(db, modelID: try Fixtures.model(db))
        let browser = try running.browser(as: .operator)
        #expect(try browser.get(DeploymentRoutes.newPath(jobID: job)).body.contains("Where the figures come from"))
        let refused = try browser.post("/deployments", [("job_id", String(job)), ("from", "form"), ("name", "typed-name"), ("source", "scraped"),
                                                        ("target_url", "gopher://127.0.0.1:70/"), ("preset", "prometheus_client")])
        #expect(refused.status == 303)
        #expect(try Fixtures.count(db, "deployments") == 0, "nothing deployed")
        let back = try browser.get(DeploymentRoutes.newPath(jobID: job))
        #expect(back.body.contains("http and https"))
        #expect(back.body.contains("value=\"gopher://127.0.0.1:70/\"") && back.body.contains("value=\"typed-name\""), "what was typed is kept")

        let accepted = try browser.post("/deployments", [("job_id", String(job)), ("from", "form"), ("source", "pushed")])
        #expect(accepted.status == 303)
        let id = try #require(try db.queryOne("SELECT id FROM deployments")?.int("id"))
        #expect(try DeploymentStore(database: db).find(id)?.metricsSource == .pushed)
        #expect(try InferenceSourceStore(database: db).find(id)?.kind == .pushed)
    }
}
