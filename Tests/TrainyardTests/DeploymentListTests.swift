import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

@Suite struct DeploymentListQueryTests {
    /// 24 deployments over two models, six in each status, with distinct figures.
    func seed(_ db: Database) throws -> [Int] {
        let nano = try Fixtures.model(db, slug: "nano-chat", name: "Nano Chat", parameters: 350_000_000)
        let large = try Fixtures.model(db, slug: "big-coder", name: "Big Coder", parameters: 8_000_000_000)
        var ids: [Int] = []
        let statuses = ["active", "paused", "failed", "deploying"]
        for i in 0..<24 {
            let job = try Fixtures.completeJob(db, modelID: i % 2 == 0 ? nano : large, name: "job-\(i)")
            let id = try Fixtures.deployment(db, jobID: job, now: Date().addingTimeInterval(Double(i - 100) * 60))
            try db.execute("""
                UPDATE deployments SET status = $2, rps = $3, p50_ms = $4, p95_ms = $5, p99_ms = $6, error_rate = $7 WHERE id = $1
                """, [.int(Int64(id)), .text(statuses[i % 4]), .double(Double(i) * 1.5), .double(Double(50 + i)), .double(Double(100 + i * 30)),
                      .double(Double(300 + i * 50)), .double(Double(i) / 1000)])
            ids.append(id)
        }
        try db.transaction { conn in try DeploymentStore.recount(conn) }
        return ids
    }

    func order(_ body: String, _ ids: [Int]) -> [Int] {
        ids.compactMap { id in body.range(of: "<td><a href=\"/deployments/\(id)\">").map { (id, $0.lowerBound) } }
            .sorted { $0.1 < $1.1 }.map(\.0)
    }

    /// The filter chips' counts are kept while their counter stands; a status change moves it,
    /// on either database, and the next page shows the new counts.
    @Test(arguments: TestDatabaseKind.enabled)
    func statusCountsFollowAStatusChangeOnTheNextPage(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let browser = try running.browser()
        let ids = try seed(db)
        for _ in 0..<2 {
            let page = try browser.get("/deployments?sort=p95")
            #expect(page.body.contains("Active <span class=\"muted\">(6)</span>"))
            #expect(page.body.contains("Paused <span class=\"muted\">(6)</span>"))
            #expect(try browser.get("/").body.contains(Self.tile("active", 6)))
        }
        let active = try db.query("SELECT id FROM deployments WHERE status = 'active' ORDER BY id LIMIT 2").map { try $0.int("id") }
        #expect(active.count == 2 && Set(active).isSubset(of: Set(ids)))
        try db.transaction { conn in
            for id in active { try conn.execute("UPDATE deployments SET status = 'paused' WHERE id = $1", [.int(Int64(id))]) }
            try DeploymentStore.recount(conn)
        }
        let after = try browser.get("/deployments?sort=p95")
        #expect(after.body.contains("Active <span class=\"muted\">(4)</span>"))
        #expect(after.body.contains("Paused <span class=\"muted\">(8)</span>"))
        let dashboard = try browser.get("/")
        #expect(dashboard.status == 200)
        #expect(dashboard.body.contains(Self.tile("active", 4)) && dashboard.body.contains(Self.tile("paused", 8)))
    }

    /// Pages, an instant (with no status, and with several merged one status at a time) and the
    /// export all come out in the one order the table defines, the figure then the id, with
    /// ties across statuses.
    @Test(arguments: TestDatabaseKind.enabled)
    func aFigureSortIsTheTablesOneOrderAcrossStatusesPagesInstantsAndTheExport(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let browser = try running.browser()
        let ids = try seed(db)
        // Equal figures in every status: only the id orders them.
        try db.execute("UPDATE deployments SET p95_ms = 500, rps = 2 WHERE id IN ($1, $2, $3, $4, $5)",
                       [ids[1], ids[2], ids[7], ids[12], ids[20]].map { .int(Int64($0)) })
        func expected(_ column: String, _ dir: String) throws -> [Int] {
            try db.query("SELECT id FROM deployments WHERE deleted_at IS NULL ORDER BY \(column) \(dir), id \(dir)").map { try $0.int("id") }
        }
        for (key, column) in [("rps", "rps"), ("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms"), ("errors", "error_rate")] {
            for dir in ["asc", "desc"] {
                let want = try expected(column, dir)
                var shown: [Int] = []
                for page in 1...5 { shown += order(try browser.get("/deployments?sort=\(key)&dir=\(dir)&per=5&page=\(page)").body, ids) }
                #expect(shown == want, "\(key) \(dir)")
                let json = try browser.get("/deployments.json?sort=\(key)&dir=\(dir)")
                let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.body.utf8)) as? [[String: Any]])
                #expect(objects.compactMap { $0["id"] as? Int } == want, "export \(key) \(dir)")
            }
        }
        // Two thirds of them went active a minute ago, whatever their status is now.
        let instant = Date()
        for id in ids.enumerated().filter({ $0.offset % 3 != 0 }).map(\.element) {
            try db.execute("INSERT INTO deployment_status_history (deployment_id, old_status, new_status, created_at) VALUES ($1, 'deploying', 'active', $2)",
                           [.int(Int64(id)), .date(instant.addingTimeInterval(-60))])
        }
        let serving = try db.query("""
            SELECT d.id FROM deployments d WHERE \(DeploymentStore.servingCondition(at: "$1")) ORDER BY d.p95_ms DESC, d.id DESC
            """, [.date(instant)]).map { try $0.int("id") }
        #expect(serving.count == 16)
        let at = ISO8601DateFormatter().string(from: instant)
        var atInstant: [Int] = []
        for page in 1...3 {
            atInstant += order(try browser.get("/deployments?live_at=\(at)&sort=p95&dir=desc&per=10&page=\(page)").body, ids)
        }
        #expect(atInstant == serving)
        let three = Set(try db.query("SELECT id FROM deployments WHERE status IN ('active', 'failed', 'paused')").map { try $0.int("id") })
        var threeAtInstant: [Int] = []
        for page in 1...3 {
            threeAtInstant += order(try browser.get(
                "/deployments?live_at=\(at)&status=paused&status=active&status=failed&sort=p95&dir=desc&per=5&page=\(page)").body, ids)
        }
        #expect(threeAtInstant == serving.filter(three.contains))
        #expect(threeAtInstant.count > 5)
    }

    static func tile(_ status: String, _ count: Int) -> String {
        "href=\"/deployments?status=\(status)\"><span class=\"tile-count\">\(count)</span>"
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func everySortFilterAndMalformedValueAnswers200WithTheAppliedState(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let browser = try running.browser()

        let empty = try browser.get("/deployments")
        #expect(empty.body.contains("No deployments yet."))
        #expect(empty.body.contains("href=\"/training/jobs?status=complete\""))
        #expect(!empty.body.contains("No deployments match"))

        let ids = try seed(db)
        let first = try browser.get("/deployments")
        #expect(first.body.contains("All deployments, sorted by deployed, descending, page 1, 25 per page."))
        #expect(first.body.contains("Active <span class=\"muted\">(6)</span>"))
        #expect(order(first.body, ids) == ids.reversed())

        let labels = ["model": "model", "version": "version", "status": "status", "rps": "requests per second", "p50": "P50 latency",
                      "p95": "P95 latency", "p99": "P99 latency", "errors": "error rate", "created": "deployed"]
        for (key, label) in labels {
            for dir in ["asc", "desc"] {
                let page = try browser.get("/deployments?sort=\(key)&dir=\(dir)")
                #expect(page.status == 200)
                #expect(page.body.contains("sorted by \(label), \(dir == "asc" ? "ascending" : "descending")"), "\(key) \(dir)")
                #expect(order(page.body, ids).count == 24)
            }
        }
        // The order is the column's, with the id breaking ties the same way.
        #expect(order(try browser.get("/deployments?sort=p95&dir=desc").body, ids) == ids.reversed())
        #expect(order(try browser.get("/deployments?sort=rps&dir=asc").body, ids) == ids)
        let byModel = order(try browser.get("/deployments?sort=model&dir=asc").body, ids)
        #expect(byModel == ids.enumerated().filter { $0.offset % 2 == 1 }.map(\.element) + ids.enumerated().filter { $0.offset % 2 == 0 }.map(\.element))

        // The header link toggles the direction and keeps the filters; aria-sort says which.
        let sorted = try browser.get("/deployments?status=active&q=nano&sort=p95&dir=desc")
        #expect(sorted.body.contains("aria-sort=\"descending\" class=\"num\"><a href=\"/deployments?q=nano&amp;status=active&amp;sort=p95&amp;dir=asc\""))

        for status in ["deploying", "active", "paused", "failed"] {
            let page = try browser.get("/deployments?status=\(status)")
            #expect(page.body.contains("Deployments with status \(status), sorted by deployed"))
            let shown = order(page.body, ids)
            #expect(shown.count == 6, "\(status)")
            #expect(try shown.allSatisfy { try Fixtures.deploymentStatus(db, $0) == status })
        }
        let two = try browser.get("/deployments?status=paused&status=active&sort=p95&dir=desc")
        #expect(two.body.contains("Deployments with status active or paused, sorted by P95 latency, descending"))
        #expect(order(two.body, ids).count == 12)

        let search = try browser.get("/deployments?q=NANO")
        #expect(search.body.contains("Deployments matching “NANO”"))
        #expect(order(search.body, ids) == ids.enumerated().filter { $0.offset % 2 == 0 }.map(\.element).reversed())
        #expect(order(try browser.get("/deployments?q=big-coder-v1.2").body, ids) == [ids[5]])

        let noMatch = try browser.get("/deployments?q=nothing-like-this")
        #expect(noMatch.body.contains("No deployments match these filters."))
        #expect(noMatch.body.contains("<a class=\"button\" href=\"/deployments\">Clear the filters</a>"))
        #expect(!noMatch.body.contains("No deployments yet"))

        let paged = try browser.get("/deployments?per=10&page=2")
        #expect(order(paged.body, ids) == Array(ids.reversed()[10..<20]))
        #expect(paged.body.contains("rel=\"next\""))
        #expect(paged.body.contains("href=\"/deployments?page=3&amp;per=10\""))
        let last = try browser.get("/deployments?per=10&page=3")
        #expect(order(last.body, ids).count == 4)
        #expect(!last.body.contains("rel=\"next\""))
        let past = try browser.get("/deployments?page=50")
        #expect(past.status == 200)
        #expect(past.body.contains("There are no deployments on page 50."))

        let malformed: [(String, String)] = [
            ("sort=drop%20table", "All deployments, sorted by deployed, descending, page 1, 25 per page."),
            ("page=-1", "page 1, 25 per page."), ("page=abc", "page 1,"), ("per=100000", "page 1, 100 per page."),
            ("per=0", "25 per page."), ("status=bogus", "All deployments, sorted by deployed"), ("dir=sideways", "sorted by deployed, descending"),
            ("sort=p95&dir=up", "sorted by P95 latency, descending"), ("page=99999999999999999999", "page 1,"),
            ("q=%25", "No deployments match"), ("q=%27%3B%20DROP%20TABLE%20deployments%3B--", "No deployments match"),
            ("page=100000&per=100", "Pages deeper than"),
        ]
        for (query, expected) in malformed {
            let page = try browser.get("/deployments?\(query)")
            #expect(page.status == 200, "\(query)")
            #expect(page.body.contains(expected), "\(query)")
        }
        #expect(try Fixtures.count(db, "deployments") == 24)

        // Thresholds show in text as well as colour.
        try db.execute("UPDATE deployments SET error_rate = 0.034, p50_ms = 60, p95_ms = 812 WHERE id = $1", [.int(Int64(ids[0]))])
        try db.execute("UPDATE deployments SET status = 'active', error_rate = 0.01, p50_ms = 100, p95_ms = 600, rps = 1, rps_baseline = 4 WHERE id = $1", [.int(Int64(ids[2]))])
        let flagged = try browser.get("/deployments?status=active&sort=errors&dir=desc")
        #expect(flagged.body.contains("3.40 %% <span class=\"metric-flag\" title=\"Critical: above 2 %%\">critical</span>".replacingOccurrences(of: "%%", with: "%")))
        #expect(flagged.body.contains("812 ms <span class=\"metric-flag\" title=\"Critical: 13.5× P50, above 10×\">critical</span>"))
        #expect(flagged.body.contains("1.00 %% <span class=\"metric-flag\" title=\"Warning: 0.5–2 %%\">warning</span>".replacingOccurrences(of: "%%", with: "%")))
        #expect(flagged.body.contains("600 ms <span class=\"metric-flag\" title=\"Warning: 6.0× P50, above 5×\">warning</span>"))
        #expect(flagged.body.contains("<span class=\"metric-flag\" title=\"Warning: down 75 % on the last hour\">warning</span>"))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func detailRangeFallsBackToTheDefaultAndSaysSo(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let job = try Fixtures.completeJob(db, modelID: try Fixtures.model(db))
        let id = try Fixtures.deployment(db, jobID: job, replicas: 2, now: Date().addingTimeInterval(-3 * 86_400))
        let runner = DeploymentRunner(database: db, speed: 1000, startFailureRate: 0)
        try runner.tick()
        Thread.sleep(forTimeInterval: 0.02)
        try runner.tick()
        #expect(try Fixtures.deploymentStatus(db, id) == "active")
        // Three days of minutes, written as the runner would have.
        let d = try #require(try DeploymentStore(database: db).find(id))
        let now = DeploymentRunner.minute(of: Date())
        try db.transaction { conn in
            for minute in stride(from: now - 3 * 1440, to: now, by: 7) { try DeploymentStore.recordStats(conn, d, minute: minute, now: Date()) }
            try DeploymentStore.recordStats(conn, d, minute: now, now: Date())
        }
        let browser = try running.browser()
        for (range, label) in [("1h", "Last hour"), ("24h", "Last 24 hours"), ("7d", "Last 7 days")] {
            let page = try browser.get("/deployments/\(id)?range=\(range)")
            #expect(page.status == 200)
            #expect(page.body.contains("Requests and latency · \(label)"))
            #expect(page.body.contains("<polyline class=\"chart-line series-p95\""))
            #expect(!page.body.contains("There is no range"))
            // Bounded points: one polyline per series, at most 96 points each.
            let points = page.body.components(separatedBy: "series-requests\" fill=\"none\" points=\"")[1].prefix { $0 != "\"" }
            #expect(points.split(separator: " ").count <= 96)
        }
        let bad = try browser.get("/deployments/\(id)?range=forever")
        #expect(bad.status == 200)
        #expect(bad.body.contains("There is no range “forever”; showing the last hour."))
        #expect(bad.body.contains("Requests and latency · Last hour"))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func theBenchmarkLoaderKeepsCountersAndVersionsConsistent(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        #expect(try DeploymentBulkLoader.load(db, rows: 1200) == "loaded 1200 deployments")
        let counts = try Fixtures.deploymentCounts(db)
        #expect(counts == ["active": 840, "paused": 180, "failed": 168, "deploying": 12])
        #expect(try Fixtures.count(db, "deployment_replicas") == 1200)
        let duplicates = try db.query("SELECT model_id, version_number FROM deployments GROUP BY model_id, version_number HAVING COUNT(*) > 1")
        #expect(duplicates.isEmpty)
        let page = try running.browser().get("/deployments?status=active&sort=p95&dir=desc&page=3")
        #expect(page.status == 200)
        #expect(page.body.contains("Active <span class=\"muted\">(840)</span>"))
        #expect(page.body.contains("rel=\"next\""))
    }
}
