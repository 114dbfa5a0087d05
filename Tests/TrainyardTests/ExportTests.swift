import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

/// The RFC 4180 records of `text`, strictly: every record ends with CRLF, quotes only around
/// whole fields, doubled inside them.
func parseCSV(_ text: String) throws -> [[String]] {
    struct Malformed: Error, CustomStringConvertible { var description: String }
    var records: [[String]] = []
    var record: [String] = []
    var field = ""
    var scalars = Array(text.unicodeScalars)[...]
    var quoted = false, wasQuoted = false
    while let c = scalars.popFirst() {
        if quoted {
            if c == "\"" {
                if scalars.first == "\"" { scalars.removeFirst(); field.unicodeScalars.append(c) } else { quoted = false }
            } else {
                field.unicodeScalars.append(c)
            }
            continue
        }
        switch c {
        case "\"":
            guard field.isEmpty, !wasQuoted else { throw Malformed(description: "quote inside an unquoted field after \(records.count) records") }
            quoted = true
            wasQuoted = true
        case ",":
            record.append(field); field = ""; wasQuoted = false
        case "\r":
            guard scalars.popFirst() == "\n" else { throw Malformed(description: "CR without LF after \(records.count) records") }
            record.append(field); field = ""; wasQuoted = false
            records.append(record); record = []
        case "\n":
            throw Malformed(description: "bare LF after \(records.count) records")
        default:
            guard !wasQuoted else { throw Malformed(description: "text after a closing quote") }
            field.unicodeScalars.append(c)
        }
    }
    guard !quoted, field.isEmpty, record.isEmpty else { throw Malformed(description: "the last record does not end with CRLF") }
    return records
}

/// Ids in the order a table page shows them, from the links that only rows carry.
func rowIDs(_ html: String, marker: String) -> [Int] {
    html.components(separatedBy: marker).dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
}

/// Ids in the page's order, every page of `path` (which must not carry `page` or `per`).
func idsThroughEveryPage(_ browser: TestBrowser, _ path: String, marker: String) throws -> [Int] {
    var ids: [Int] = []
    for page in 1... {
        let separator = path.contains("?") ? "&" : "?"
        let shown = rowIDs(try browser.get("\(path)\(separator)per=100&page=\(page)").body, marker: marker)
        ids += shown
        if shown.count < 100 { return ids }
    }
    return ids
}

let deploymentMarker = "<td><a href=\"/deployments/"
let jobMarker = "id=\"job-name-"

/// The export as a table: the header and the records, with the CSV's id column as integers.
struct CSVTable {
    var header: [String]
    var records: [[String]]

    init(_ body: String) throws {
        let all = try parseCSV(body)
        header = all.first ?? []
        records = Array(all.dropFirst())
    }

    func column(_ name: String) -> [String] {
        guard let index = header.firstIndex(of: name) else { return [] }
        return records.map { $0[index] }
    }

    var ids: [Int] { column("id").compactMap(Int.init) }
}

@Suite struct DeploymentExportTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func everyMatchingRowAcrossSeveralBatchesInThePagesOrder(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        _ = try DeploymentBulkLoader.load(db, rows: 2500)
        let browser = try running.browser()

        // 1,750 active rows: two batches of 1,000 and a partial one.
        let active = try browser.get("/deployments.csv?status=active&sort=p95&dir=desc")
        #expect(active.status == 200)
        #expect(active.header("Content-Type") == "text/csv; charset=utf-8")
        #expect(active.header("Content-Disposition") == "attachment; filename=\"deployments.csv\"")
        #expect(active.header("Transfer-Encoding") == "chunked")
        #expect(active.header("Cache-Control") == "no-store")
        let table = try CSVTable(active.body)
        #expect(table.header == ["id", "model", "name", "version", "status", "replicas_target", "replicas_running", "rps",
                                 "p50_ms", "p95_ms", "p99_ms", "error_rate", "created_at"])
        let activeCount = try db.queryOne("SELECT COUNT(*) AS n FROM deployments WHERE status = 'active' AND deleted_at IS NULL")!.int("n")
        #expect(activeCount == 1750)
        #expect(table.records.count == activeCount)
        #expect(Set(table.column("status")) == ["active"])
        #expect(Set(table.ids).count == activeCount)
        let pageOrder = try idsThroughEveryPage(browser, "/deployments?status=active&sort=p95&dir=desc", marker: deploymentMarker)
        #expect(pageOrder.count == activeCount)
        #expect(table.ids == pageOrder)
        let p95 = table.column("p95_ms").compactMap(Double.init)
        #expect(p95.count == activeCount)
        #expect(p95 == p95.sorted(by: >))

        // Sorting by status makes runs of equal keys that cross batch boundaries: the id breaks
        // the ties the same way in every batch, so no row is lost or repeated at a boundary.
        let byStatus = try browser.get("/deployments.json?sort=status&dir=asc&page=3&per=7")
        #expect(byStatus.header("Content-Type") == "application/json")
        #expect(byStatus.header("Content-Disposition") == "attachment; filename=\"deployments.json\"")
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(byStatus.body.utf8)) as? [[String: Any]])
        #expect(objects.count == 2500)
        let ids = objects.compactMap { $0["id"] as? Int }
        #expect(Set(ids).count == 2500)
        #expect(ids == (try idsThroughEveryPage(browser, "/deployments?sort=status&dir=asc", marker: deploymentMarker)))

        // A figure sort with no status, across batch boundaries: the batches join into the
        // table's one order.
        let byRPS = try CSVTable(try browser.get("/deployments.csv?sort=rps&dir=asc").body)
        let rpsOrder = try db.query("SELECT id FROM deployments WHERE deleted_at IS NULL ORDER BY rps, id").map { try $0.int("id") }
        #expect(rpsOrder.count == 2500)
        #expect(byRPS.ids == rpsOrder)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func filtersSortAndTheirMalformedValuesAreThePages(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        _ = try DeploymentBulkLoader.load(db, rows: 300)
        let browser = try running.browser()

        let query = "q=NANO&status=paused&status=failed&sort=created&dir=asc"
        let table = try CSVTable(try browser.get("/deployments.csv?\(query)").body)
        #expect(!table.records.isEmpty)
        #expect(Set(table.column("status")) == ["paused", "failed"])
        #expect(table.column("model").allSatisfy { $0 == "Bench Nano" })
        #expect(table.ids == (try idsThroughEveryPage(browser, "/deployments?\(query)", marker: deploymentMarker)))
        // A deployment that is not active has no traffic: its figures are empty, as the table's dashes.
        #expect(table.column("rps").allSatisfy { $0.isEmpty })
        #expect(table.column("created_at").allSatisfy { SQLTimestamp.parse($0) != nil && $0.hasSuffix("Z") })

        // Nonsense falls back to the defaults, as on the page: every row, newest first.
        let defaults = try browser.get("/deployments.csv")
        for bad in ["sort=drop%20table&dir=sideways", "status=bogus&page=-1&per=0", "page=99999999999999999999&per=lots", "sort=p95&dir=up&sort=x"] {
            let response = try browser.get("/deployments.csv?\(bad)")
            #expect(response.status == 200, "\(bad)")
            if bad.hasPrefix("sort=p95") {
                #expect(try CSVTable(response.body).ids == (try idsThroughEveryPage(browser, "/deployments?sort=p95", marker: deploymentMarker)))
            } else {
                #expect(response.body == defaults.body, "\(bad)")
            }
        }
        #expect(try CSVTable(defaults.body).records.count == 300)
        let nothing = try browser.get("/deployments.csv?q=%25%27%3B%20DROP%20TABLE%20deployments%3B--")
        #expect(nothing.status == 200)
        #expect(try CSVTable(nothing.body).records.isEmpty)
        #expect(try Fixtures.count(db, "deployments") == 300)
        let emptyJSON = try browser.get("/deployments.json?q=nothing-like-this")
        #expect((try JSONSerialization.jsonObject(with: Data(emptyJSON.body.utf8)) as? [Any])?.isEmpty == true)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func textIsQuotedAndFormulasAreDefused(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let model = try Fixtures.model(db, slug: "quoting", name: "=HYPERLINK(\"http://evil.example/\",\"Click\")")
        let names = ["plain", "a,b", "say \"hi\"", "two\r\nlines", "@SUM(A1:A9)", "+1", "-2", "\tTabbed", "\rCR", "Ünïcødé ✓"]
        var ids: [Int] = []
        for (i, name) in names.enumerated() {
            let job = try Fixtures.completeJob(db, modelID: model, name: "job-\(i)")
            let id = try Fixtures.deployment(db, jobID: job, now: Date().addingTimeInterval(Double(i)))
            try db.execute("UPDATE deployments SET name = $2 WHERE id = $1", [.int(Int64(id)), .text(name)])
            ids.append(id)
        }
        try db.execute("UPDATE deployments SET status = 'active', rps = 12.5, p50_ms = 40, p95_ms = 120.25, p99_ms = 200, error_rate = 0.003 WHERE id = $1",
                       [.int(Int64(ids[0]))])
        let browser = try running.browser()

        let response = try browser.get("/deployments.csv?sort=created&dir=asc")
        // The raw text: quoted where needed, quotes doubled, the formula prefix inside the quotes.
        #expect(response.body.contains(",\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"Click\"\")\",plain,"))
        #expect(response.body.contains(",\"a,b\","))
        #expect(response.body.contains(",\"say \"\"hi\"\"\","))
        #expect(response.body.contains(",\"two\r\nlines\","))
        #expect(response.body.contains(",'@SUM(A1:A9),"))
        #expect(response.body.hasPrefix("id,model,name,version,status,"))
        let table = try CSVTable(response.body)
        #expect(table.ids == ids)
        #expect(table.column("name") == ["plain", "a,b", "say \"hi\"", "two\r\nlines", "'@SUM(A1:A9)", "'+1", "'-2", "'\tTabbed", "'\rCR", "Ünïcødé ✓"])
        #expect(Set(table.column("model")) == ["'=HYPERLINK(\"http://evil.example/\",\"Click\")"])
        let first = table.records[0]
        #expect(Array(first[7...11]) == ["12.5", "40.0", "120.25", "200.0", "0.003"])

        // JSON keeps the text as it is, numbers as numbers and absent figures as null.
        let json = try browser.get("/deployments.json?sort=created&dir=asc")
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.body.utf8)) as? [[String: Any]])
        #expect(objects.map { $0["name"] as? String } == names)
        #expect(objects[0]["rps"] as? Double == 12.5)
        #expect(objects[0]["replicas_target"] as? Int == 1)
        #expect(objects[1]["rps"] is NSNull)
        #expect(objects[0]["model"] as? String == "=HYPERLINK(\"http://evil.example/\",\"Click\")")
        #expect((objects[0]["created_at"] as? String).flatMap(SQLTimestamp.parse) != nil)
        #expect(Set(objects[0].keys) == Set(table.header))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func accessIsThePagesAndHeadSendsNoRows(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        _ = try DeploymentBulkLoader.load(running.database, rows: 20)
        for path in ["/deployments.csv?status=active", "/deployments.json", "/training/jobs.csv", "/training/jobs.json?model=bench-nano"] {
            let anonymous = running.anonymousBrowser()
            let refused = try anonymous.get(path)
            #expect(refused.status == 303, "\(path)")
            #expect(refused.header("Location")?.hasPrefix("/login?next=") == true, "\(path)")
            #expect(!refused.body.contains("bench-"), "\(path)")

            let viewer = try running.browser(as: .viewer)
            let allowed = try viewer.get(path)
            #expect(allowed.status == 200, "\(path)")
            #expect(allowed.body.contains("bench-"), "\(path)")

            let head = try viewer.request("HEAD", path)
            #expect(head.status == 200, "\(path)")
            #expect(head.header("Content-Disposition")?.hasPrefix("attachment;") == true, "\(path)")
            #expect(head.body.isEmpty, "\(path)")
        }
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func tablePagesLinkToTheirDownloadsWithTheFiltersButNotThePage(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let browser = try running.browser()
        #expect(!(try browser.get("/deployments").body.contains("Download CSV")))
        _ = try DeploymentBulkLoader.load(running.database, rows: 60)

        let page = try browser.get("/deployments?q=nano&status=active&sort=p95&dir=desc&page=2&per=5")
        #expect(page.body.contains("<a class=\"button\" href=\"/deployments.csv?q=nano&amp;status=active&amp;sort=p95&amp;dir=desc\">Download CSV</a>"))
        #expect(page.body.contains("<a class=\"button\" href=\"/deployments.json?q=nano&amp;status=active&amp;sort=p95&amp;dir=desc\">Download JSON</a>"))
        #expect(try browser.get("/deployments").body.contains("href=\"/deployments.csv\">Download CSV</a>"))
        #expect(!(try browser.get("/deployments?q=nothing-like-this").body.contains("Download CSV")))

        let jobs = try browser.get("/training/jobs?status=complete&model=bench-small&sort=name&dir=asc&per=10")
        #expect(jobs.body.contains("href=\"/training/jobs.csv?status=complete&amp;model=bench-small&amp;sort=name&amp;dir=asc\">Download CSV</a>"))
        #expect(jobs.body.contains("href=\"/training/jobs.json?status=complete&amp;model=bench-small&amp;sort=name&amp;dir=asc\">Download JSON</a>"))
        // The audit trail has no export, so no link.
        #expect(!(try browser.get("/audit").body.contains("Download CSV")))
    }
}

@Suite struct JobExportTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func everyMatchingJobAcrossSeveralBatchesInThePagesOrder(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        // 2,500 complete jobs over four models (the deployments' source jobs) and a few others.
        _ = try DeploymentBulkLoader.load(db, rows: 2500)
        let other = try Fixtures.model(db, slug: "other", name: "Other")
        for i in 0..<5 { try Fixtures.job(db, modelID: other, name: "queued-\(i)", epochs: i + 1) }
        let browser = try running.browser()

        let response = try browser.get("/training/jobs.csv?status=complete&sort=name&dir=asc")
        #expect(response.status == 200)
        #expect(response.header("Content-Disposition") == "attachment; filename=\"jobs.csv\"")
        let table = try CSVTable(response.body)
        #expect(table.header == ["id", "name", "model", "experiment", "status", "source", "epochs", "learning_rate", "progress_percent",
                                 "current_step", "created_at", "started_at", "finished_at"])
        #expect(table.records.count == 2500)
        #expect(Set(table.column("status")) == ["complete"])
        #expect(table.ids == (try idsThroughEveryPage(browser, "/training/jobs?status=complete&sort=name&dir=asc", marker: jobMarker)))

        // Progress ties (every complete job is at 100 %) across batch boundaries, the model
        // filter, and JSON: the same rows as the pages.
        let query = "model=bench-small&sort=progress&dir=desc"
        let json = try browser.get("/training/jobs.json?\(query)")
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.body.utf8)) as? [[String: Any]])
        #expect(objects.count == 625)
        #expect(objects.allSatisfy { $0["model"] as? String == "Bench Small" && $0["progress_percent"] as? Int == 100 })
        #expect(objects.compactMap { $0["id"] as? Int } == (try idsThroughEveryPage(browser, "/training/jobs?\(query)", marker: jobMarker)))

        let all = try CSVTable(try browser.get("/training/jobs.csv?sort=epochs&dir=asc").body)
        #expect(all.records.count == 2505)
        #expect(all.ids == (try idsThroughEveryPage(browser, "/training/jobs?sort=epochs&dir=asc", marker: jobMarker)))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func reportedRunsAndMalformedQueriesExportLikeThePage(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let model = try Fixtures.model(db, slug: "lfm", name: "LFM")
        let queued = try Fixtures.job(db, modelID: model, name: "=cmd|' /C calc'!A0", epochs: 3, learningRate: 0.001)
        let browser = try running.browser()
        // A run reported through the tracking API: no plan, an experiment.
        let client = try TrackingAPITests.Client(running)
        let experiment = try TrackingAPITests.json(try client.post("experiments/create", ["name": "sweep"]))
        let run = try client.post("runs/create", ["experiment_id": experiment["experiment_id"] as? String ?? "", "run_name": "reported-run",
                                                  "start_time": Int(Date().timeIntervalSince1970 * 1000) + 1000])
        #expect(run.status == 200)

        let json = try browser.get("/training/jobs.json?sort=created&dir=asc")
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.body.utf8)) as? [[String: Any]])
        #expect(objects.count == 2)
        let simulated = objects[0], reported = objects[1]
        #expect(simulated["id"] as? Int == queued)
        #expect(simulated["name"] as? String == "=cmd|' /C calc'!A0")
        #expect(simulated["epochs"] as? Int == 3)
        #expect(simulated["learning_rate"] as? Double == 0.001)
        #expect(simulated["progress_percent"] as? Int == 0)
        #expect(simulated["experiment"] is NSNull)
        #expect(simulated["started_at"] is NSNull)
        #expect(reported["name"] as? String == "reported-run")
        #expect(reported["source"] as? String == "reported")
        #expect(reported["experiment"] as? String == "sweep")
        #expect(reported["epochs"] is NSNull && reported["learning_rate"] is NSNull && reported["progress_percent"] is NSNull)
        #expect(reported["model"] is NSNull)

        let csv = try browser.get("/training/jobs.csv?sort=created&dir=asc")
        #expect(csv.body.contains("\r\n\(queued),'=cmd|' /C calc'!A0,LFM,,queued,simulated,3,0.001,0,0,"))
        #expect(try CSVTable(csv.body).column("experiment") == ["", "sweep"])

        let experimentOnly = try CSVTable(try browser.get("/training/jobs.csv?experiment=sweep").body)
        #expect(experimentOnly.column("name") == ["reported-run"])
        let defaults = try browser.get("/training/jobs.csv")
        for bad in ["sort=colour&dir=sideways", "status=sleeping&page=-3&per=lots", "model=nope&experiment=nope", "q=" + String(repeating: "a", count: 500)] {
            let response = try browser.get("/training/jobs.csv?\(bad)")
            #expect(response.status == 200, "\(bad)")
            if bad.hasPrefix("q=") {
                #expect(try CSVTable(response.body).records.isEmpty)
            } else {
                #expect(response.body == defaults.body, "\(bad)")
            }
        }
    }
}
