import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

/// The MLflow tracking API over a real socket, on both databases: every endpoint's happy path
/// as the official client calls it, and its errors and limits in MLflow's shape, with nothing
/// half-written when a request is refused.
@Suite struct TrackingAPITests {
    /// A client of the tracking API with one role's token.
    struct Client {
        let running: RunningApp
        let token: String

        init(_ running: RunningApp, _ role: Role = .operator) throws {
            self.running = running
            token = try running.token(role)
        }

        func post(_ endpoint: String, _ body: String, contentType: String? = "application/json",
                  authorization: String? = nil) throws -> TestResponse {
            var headers = [("Authorization", authorization ?? "Bearer " + token)]
            if let contentType { headers.append(("Content-Type", contentType)) }
            return try TestHTTPClient.send(port: running.port, method: "POST", path: TrackingRoutes.prefix + endpoint, headers: headers, body: body)
        }

        func post(_ endpoint: String, _ object: [String: Any], authorization: String? = nil) throws -> TestResponse {
            try post(endpoint, String(data: try JSONSerialization.data(withJSONObject: object), encoding: .utf8)!, authorization: authorization)
        }

        func get(_ endpoint: String, _ query: String) throws -> TestResponse {
            try TestHTTPClient.send(port: running.port, method: "GET", path: TrackingRoutes.prefix + endpoint + "?" + query,
                                    headers: [("Authorization", "Bearer " + token)])
        }
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any], "\(response.body)")
    }

    /// The response is MLflow's error with `code` and HTTP `status`.
    static func expectError(_ response: TestResponse, _ code: String, _ status: Int, containing text: String? = nil,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(response.status == status, "\(response.body)", sourceLocation: sourceLocation)
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
        let body = try json(response)
        #expect(body["error_code"] as? String == code, "\(response.body)", sourceLocation: sourceLocation)
        if let text { #expect((body["message"] as? String)?.contains(text) == true, "\(response.body)", sourceLocation: sourceLocation) }
    }

    /// An experiment and a running run in it; returns the run id.
    static func run(_ client: Client, experiment: String = "exp", tags: [[String: String]] = []) throws -> String {
        let created = try client.post("experiments/create", ["name": experiment])
        let experimentID: String
        if created.status == 200 {
            experimentID = try #require(try json(created)["experiment_id"] as? String)
        } else {
            let found = try json(try client.get("experiments/get-by-name", "experiment_name=\(experiment)"))
            experimentID = try #require((found["experiment"] as? [String: Any])?["experiment_id"] as? String)
        }
        let run = try client.post("runs/create", ["experiment_id": experimentID, "run_name": "run-\(UUID().uuidString.prefix(6))",
                                                 "start_time": 1_800_000_000_000, "tags": tags])
        #expect(run.status == 200, "\(run.body)")
        let info = try #require((try json(run)["run"] as? [String: Any])?["info"] as? [String: Any])
        return try #require(info["run_id"] as? String)
    }

    /// What a refused request must leave unchanged: the run's metrics, params and tags.
    static func contents(_ db: Database) throws -> [String] {
        try ["job_metrics", "job_params", "job_tags", "job_metric_summaries"].map { table in
            "\(table)=\(try db.query("SELECT count(*) AS n FROM \(table)")[0].int("n"))"
        }
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func experimentsAreFoundCreatedAndSearchedAsTheClientExpects(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let client = try Client(running)
        // The client creates an experiment only when the lookup says RESOURCE_DOES_NOT_EXIST.
        try Self.expectError(try client.get("experiments/get-by-name", "experiment_name=vision+sweep"), "RESOURCE_DOES_NOT_EXIST", 404,
                             containing: "Could not find experiment with name 'vision sweep'")
        let created = try client.post("experiments/create", ["name": "vision sweep", "tags": [["key": "team", "value": "vision"]]])
        #expect(created.status == 200)
        let id = try #require(try Self.json(created)["experiment_id"] as? String)
        let found = try Self.json(try client.get("experiments/get", "experiment_id=\(id)"))
        let experiment = try #require(found["experiment"] as? [String: Any])
        #expect(experiment["name"] as? String == "vision sweep")
        #expect(experiment["lifecycle_stage"] as? String == "active")
        #expect((experiment["tags"] as? [[String: String]]) == [["key": "team", "value": "vision"]])
        try Self.expectError(try client.post("experiments/create", ["name": "vision sweep"]), "RESOURCE_ALREADY_EXISTS", 400)
        try Self.expectError(try client.post("experiments/create", ["name": ""]), "INVALID_PARAMETER_VALUE", 400,
                             containing: "Missing value for required parameter 'name'")
        try Self.expectError(try client.post("experiments/create", ["name": String(repeating: "x", count: 501)]), "INVALID_PARAMETER_VALUE", 400,
                             containing: "exceeds the maximum length of 500")
        try Self.expectError(try client.get("experiments/get", "experiment_id=abc"), "INVALID_PARAMETER_VALUE", 400)
        try Self.expectError(try client.get("experiments/get", "experiment_id=424242"), "RESOURCE_DOES_NOT_EXIST", 404)

        // The Default experiment (id 0) always exists; pages of one follow next_page_token.
        var names: [String] = []
        var token = ""
        repeat {
            var body: [String: Any] = ["max_results": 1, "view_type": "ACTIVE_ONLY"]
            if !token.isEmpty { body["page_token"] = token }
            let page = try Self.json(try client.post("experiments/search", body))
            names += ((page["experiments"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }
            token = page["next_page_token"] as? String ?? ""
        } while !token.isEmpty && names.count < 10
        #expect(names == ["Default", "vision sweep"])
        try Self.expectError(try client.post("experiments/search", ["page_token": "not-a-token"]), "INVALID_PARAMETER_VALUE", 400)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aRunLogsMetricsParamsAndTagsAndReadsThemBack(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        _ = try Fixtures.model(running.database, slug: "base-lfm")
        let client = try Client(running)
        let id = try Self.run(client, tags: [["key": "mlflow.user", "value": "maya"]])
        for step in 1...3 {
            let r = try client.post("runs/log-metric", ["run_id": id, "run_uuid": id, "key": "loss", "value": 3.0 / Double(step),
                                                       "timestamp": 1_800_000_000_000 + step, "step": step])
            #expect(r.status == 200 && r.body == "{}", "\(r.body)")
        }
        #expect(try client.post("runs/log-parameter", ["run_id": id, "key": "lr", "value": "0.1"]).status == 200)
        // The same value again is fine; a different one is not.
        #expect(try client.post("runs/log-parameter", ["run_id": id, "key": "lr", "value": "0.1"]).status == 200)
        try Self.expectError(try client.post("runs/log-parameter", ["run_id": id, "key": "lr", "value": "0.2"]), "INVALID_PARAMETER_VALUE", 400,
                             containing: "Changing param values is not allowed. Param with key='lr' was already logged with value='0.1'")
        #expect(try client.post("runs/set-tag", ["run_id": id, "key": "team", "value": "nlp"]).status == 200)
        let batch = try client.post("runs/log-batch", [
            "run_id": id,
            "metrics": [["key": "val_loss", "value": "NaN", "timestamp": 1_800_000_000_100, "step": 3],
                        ["key": "accuracy", "value": 0.75, "timestamp": 1_800_000_000_100, "step": 3]],
            "params": [["key": "base_model", "value": "base-lfm"]],
            "tags": [["key": "team", "value": "vision"]],
        ])
        #expect(batch.status == 200, "\(batch.body)")

        let run = try #require(try Self.json(try client.get("runs/get", "run_uuid=\(id)&run_id=\(id)"))["run"] as? [String: Any])
        let info = try #require(run["info"] as? [String: Any])
        #expect(info["status"] as? String == "RUNNING")
        #expect(info["user_id"] as? String == "maya")
        #expect(info["lifecycle_stage"] as? String == "active")
        let data = try #require(run["data"] as? [String: Any])
        let metrics = Dictionary(uniqueKeysWithValues: try #require(data["metrics"] as? [[String: Any]]).map { ($0["key"] as! String, $0) })
        #expect((metrics["loss"]?["value"] as? Double) == 1.0)
        #expect((metrics["loss"]?["step"] as? Int) == 3)
        #expect(metrics["val_loss"]?["value"] as? String == "NaN")
        #expect((data["params"] as? [[String: String]]) == [["key": "base_model", "value": "base-lfm"], ["key": "lr", "value": "0.1"]])
        #expect((data["tags"] as? [[String: String]])?.contains(["key": "team", "value": "vision"]) == true)

        let history = try Self.json(try client.get("metrics/get-history", "run_id=\(id)&metric_key=loss&max_results=2"))
        let first = try #require(history["metrics"] as? [[String: Any]])
        #expect(first.map { $0["step"] as? Int } == [1, 2])
        let token = try #require(history["next_page_token"] as? String)
        let rest = try Self.json(try client.get("metrics/get-history", "run_id=\(id)&metric_key=loss&max_results=2&page_token=\(token)"))
        #expect((rest["metrics"] as? [[String: Any]])?.map { $0["value"] as? Double } == [1.0])
        #expect(rest["next_page_token"] == nil)

        // The base_model param made the run deployable; FINISHED makes it complete.
        let ended = try client.post("runs/update", ["run_id": id, "status": "FINISHED", "end_time": 1_800_000_001_000])
        #expect((try Self.json(ended)["run_info"] as? [String: Any])?["status"] as? String == "FINISHED")
        let job = try #require(try RunStore(database: running.database).job(runID: id))
        #expect(job.status == .complete && job.source == .reported && job.modelSlug == "base-lfm" && job.currentStep == 3)
        #expect(job.finishedAt == Date(timeIntervalSince1970: 1_800_000_001))

        #expect(try client.post("runs/delete-tag", ["run_id": id, "key": "team"]).status == 200)
        try Self.expectError(try client.post("runs/delete-tag", ["run_id": id, "key": "team"]), "RESOURCE_DOES_NOT_EXIST", 404)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func everyErrorHasMLflowsShapeAndARejectedBatchWritesNothing(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let client = try Client(running)
        let id = try Self.run(client)
        #expect(try client.post("runs/log-batch", ["run_id": id, "params": [["key": "p", "value": "1"]]]).status == 200)
        let before = try Self.contents(running.database)
        let metric = ["key": "m", "value": 1.0, "timestamp": 1_800_000_000_000, "step": 1] as [String: Any]

        func refused(_ response: TestResponse, _ code: String, _ status: Int, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            try Self.expectError(response, code, status, containing: text, sourceLocation: sourceLocation)
            #expect(try Self.contents(running.database) == before, "a refused request wrote something", sourceLocation: sourceLocation)
        }
        try refused(try client.post("runs/log-batch", ["run_id": id, "metrics": Array(repeating: metric, count: 1001)]),
                    "INVALID_PARAMETER_VALUE", 400, "at most 1000 metrics. Got 1001 metrics")
        try refused(try client.post("runs/log-batch", ["run_id": id, "params": (0...100).map { ["key": "k\($0)", "value": "v"] }]),
                    "INVALID_PARAMETER_VALUE", 400, "at most 100 params. Got 101 params")
        try refused(try client.post("runs/log-batch", ["run_id": id, "tags": (0...100).map { ["key": "k\($0)", "value": "v"] }]),
                    "INVALID_PARAMETER_VALUE", 400, "at most 100 tags. Got 101 tags")
        try refused(try client.post("runs/log-batch", ["run_id": id, "metrics": Array(repeating: metric, count: 950),
                                                       "params": (0..<60).map { ["key": "q\($0)", "value": "v"] }]),
                    "INVALID_PARAMETER_VALUE", 400, "at most 1000 metrics, params, and tags. Got 1010")
        // A changed param anywhere in the batch: not even its metrics are written.
        try refused(try client.post("runs/log-batch", ["run_id": id, "metrics": [metric], "params": [["key": "p", "value": "2"]]]),
                    "INVALID_PARAMETER_VALUE", 400, "Changing param values is not allowed")
        try refused(try client.post("runs/log-batch", ["run_id": id, "metrics": [metric, ["key": "bad*key", "value": 1, "timestamp": 1]]]),
                    "INVALID_PARAMETER_VALUE", 400, "metrics[1].name")
        try refused(try client.post("runs/log-batch", ["run_id": id, "metrics": [["key": "m", "value": 1]]]),
                    "INVALID_PARAMETER_VALUE", 400, "Missing value for required parameter 'metrics[0].timestamp'")
        try refused(try client.post("runs/log-batch", ["run_id": id, "metrics": [["key": "m", "value": "lots", "timestamp": 1]]]),
                    "INVALID_PARAMETER_VALUE", 400, "valid double")
        try refused(try client.post("runs/log-metric", ["run_id": id, "key": String(repeating: "k", count: 251), "value": 1, "timestamp": 1]),
                    "INVALID_PARAMETER_VALUE", 400, "exceeds the maximum length of 250")
        try refused(try client.post("runs/log-metric", ["run_id": id, "key": "../escape", "value": 1, "timestamp": 1]),
                    "INVALID_PARAMETER_VALUE", 400, "must not resolve to other names")
        try refused(try client.post("runs/log-parameter", ["run_id": id, "key": "long", "value": String(repeating: "v", count: 6001)]),
                    "INVALID_PARAMETER_VALUE", 400, "'Param value' exceeds the maximum length of 6000")
        try refused(try client.post("runs/log-batch", ["run_id": id, "params": [["key": "d", "value": "1"], ["key": "d", "value": "2"]]]),
                    "INVALID_PARAMETER_VALUE", 400, "Duplicate parameter keys")
        let unknown = String(repeating: "0", count: 32)
        try refused(try client.post("runs/log-batch", ["run_id": unknown, "metrics": [metric]]), "RESOURCE_DOES_NOT_EXIST", 404,
                    "Run with id=\(unknown) not found")
        try refused(try client.get("runs/get", "run_id=not-a-run"), "RESOURCE_DOES_NOT_EXIST", 404, "Run with id=not-a-run not found")
        try refused(try client.get("metrics/get-history", "run_id=\(unknown)&metric_key=loss"), "RESOURCE_DOES_NOT_EXIST", 404, "not found")
        try refused(try client.post("runs/log-metric", ["key": "m", "value": 1, "timestamp": 1]), "INVALID_PARAMETER_VALUE", 400,
                    "Missing value for required parameter 'run_id'")
        // Malformed bodies and content types are 400s, never a 500 the client would retry.
        try refused(try client.post("runs/log-batch", "{\"run_id\": \"\(id)\", \"metrics\": ["), "INVALID_PARAMETER_VALUE", 400, "not a JSON object")
        try refused(try client.post("runs/log-batch", "[1, 2]"), "INVALID_PARAMETER_VALUE", 400, "not a JSON object")
        try refused(try client.post("runs/log-batch", "run_id=\(id)", contentType: "application/x-www-form-urlencoded"),
                    "INVALID_PARAMETER_VALUE", 400, "Content-Type must be one of ['application/json']")
        try refused(try client.post("runs/log-batch", "{}", contentType: nil), "INVALID_PARAMETER_VALUE", 400, "Content-Type header is missing")
        try refused(try client.post("runs/update", ["run_id": id, "status": "EXPLODED"]), "INVALID_PARAMETER_VALUE", 400, "'status'")
        try refused(try client.post("runs/search", ["experiment_ids": ["0"], "filter": "metrics.loss ~ 3"]), "INVALID_PARAMETER_VALUE", 400,
                    "Invalid comparator")
        try refused(try client.post("runs/search", ["experiment_ids": ["0"], "filter": "params.lr = 0.1"]), "INVALID_PARAMETER_VALUE", 400,
                    "Expected a quoted string value")
        try refused(try client.post("runs/search", ["experiment_ids": ["0"], "filter": "colour = 'red'"]), "INVALID_PARAMETER_VALUE", 400,
                    "Invalid attribute key 'colour'")
        try refused(try client.post("runs/search", ["experiment_ids": ["0"], "max_results": 50_001]), "INVALID_PARAMETER_VALUE", 400,
                    "max_results")
        // Artifacts and the model registry are out of scope, and say so; unknown calls are 404s.
        try refused(try client.get("artifacts/list", "run_id=\(id)"), "NOT_IMPLEMENTED", 501, "artifacts and the model registry are not supported")
        try refused(try client.post("registered-models/create", ["name": "m"]), "NOT_IMPLEMENTED", 501, "not supported")
        try refused(try client.get("runs/teleport", ""), "ENDPOINT_NOT_FOUND", 404, "/docs/tracking")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aRetriedBatchWritesEachPointOnceAndSummariesFollow(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let client = try Client(running)
        let id = try Self.run(client)
        let batch: [String: Any] = ["run_id": id, "metrics": (1...50).map {
            ["key": "loss", "value": 1.0 / Double($0), "timestamp": 1_800_000_000_000 + $0, "step": $0] as [String: Any]
        } + [["key": "loss", "value": "-Infinity", "timestamp": 1_700_000_000_000, "step": 0]]]
        #expect(try client.post("runs/log-batch", batch).status == 200)
        #expect(try client.post("runs/log-batch", batch).status == 200)
        let job = try #require(try RunStore(database: running.database).job(runID: id))
        #expect(try running.database.query("SELECT step FROM job_metrics WHERE job_id = $1", [.int(Int64(job.id))]).count == 51)
        let summary = try #require(try MetricStore(database: running.database).summaries(job.id).first)
        #expect(summary.latestStep == 50 && summary.latest == 1.0 / 50)
        #expect(summary.min == -.infinity && summary.max == 1.0)
        let history = try Self.json(try client.get("metrics/get-history", "run_id=\(id)&metric_key=loss"))
        #expect((history["metrics"] as? [[String: Any]])?.first?["value"] as? String == "-Infinity")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func searchFiltersOrdersAndPagesAsMLflowDoes(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let client = try Client(running)
        var runs: [String] = []
        for (index, (loss, lr, team)) in [(0.9, "0.01", "nlp"), (0.2, "0.1", "vision"), (0.5, "0.1", "Vision")].enumerated() {
            let id = try Self.run(client, experiment: "sweep")
            runs.append(id)
            #expect(try client.post("runs/log-batch", [
                "run_id": id, "metrics": [["key": "loss", "value": loss, "timestamp": 1_800_000_000_000, "step": 1]],
                "params": [["key": "lr", "value": lr]], "tags": [["key": "team", "value": team]],
            ]).status == 200)
            if index == 0 { #expect(try client.post("runs/update", ["run_id": id, "status": "FAILED"]).status == 200) }
        }
        let noMetric = try Self.run(client, experiment: "sweep")
        let experimentID = try #require((try Self.json(try client.get("experiments/get-by-name", "experiment_name=sweep"))["experiment"]
            as? [String: Any])?["experiment_id"] as? String)

        func search(_ filter: String, _ orderBy: [String] = [], max: Int = 100, token: String? = nil) throws -> (ids: [String], next: String?) {
            var body: [String: Any] = ["experiment_ids": [experimentID], "filter": filter, "order_by": orderBy, "max_results": max]
            if let token { body["page_token"] = token }
            let response = try client.post("runs/search", body)
            #expect(response.status == 200, "\(filter): \(response.body)")
            let json = try Self.json(response)
            let ids = ((json["runs"] as? [[String: Any]]) ?? []).compactMap { ($0["info"] as? [String: Any])?["run_id"] as? String }
            return (ids, json["next_page_token"] as? String)
        }
        #expect(try search("metrics.loss < 0.6", ["metrics.loss ASC"]).ids == [runs[1], runs[2]])
        #expect(try search("metrics.loss >= 0.2", ["metrics.loss DESC"]).ids == [runs[0], runs[2], runs[1]])
        #expect(try search("params.lr = '0.1' and tags.team LIKE 'vis%'").ids == [runs[1]])
        #expect(Set(try search("tags.`team` ILIKE 'VIS%'").ids) == Set([runs[1], runs[2]]))
        #expect(try search("attributes.status = 'FAILED'").ids == [runs[0]])
        #expect(try search("params.lr IS NULL").ids == [noMetric])
        #expect(Set(try search("attributes.run_id IN ('\(runs[0])', '\(noMetric)')").ids) == Set([runs[0], noMetric]))
        // A run without the key sorts last either way; the default order is newest first.
        #expect(try search("", ["metrics.loss ASC"]).ids.last == noMetric)
        #expect(try search("", ["metrics.loss DESC"]).ids.last == noMetric)
        var paged: [String] = []
        var token: String?
        repeat {
            let page = try search("", ["metrics.loss ASC"], max: 1, token: token)
            paged += page.ids
            token = page.next
        } while token != nil && paged.count < 10
        #expect(paged == [runs[1], runs[2], runs[0], noMetric])
        #expect(try search("metrics.loss < 0.6").ids.count == 2)
        #expect(try client.post("runs/search", ["experiment_ids": ["424242"], "filter": ""]).body == "{}")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func readsNeedAViewerWritesAnOperatorAndBasicAuthWorks(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let viewer = try Client(running, .viewer)
        let operatorName = try running.user(.operator)
        let before = try Fixtures.fingerprint(running.database)
        try Self.expectError(try viewer.post("experiments/create", ["name": "nope"]), "PERMISSION_DENIED", 403)
        try Self.expectError(try viewer.post("runs/create", ["experiment_id": "0"]), "PERMISSION_DENIED", 403)
        #expect(try viewer.post("runs/search", ["experiment_ids": ["0"]]).status == 200)
        #expect(try viewer.get("experiments/get", "experiment_id=0").status == 200)
        try Self.expectError(try viewer.post("runs/create", ["experiment_id": "0"], authorization: "Bearer ty_not-a-real-token"), "UNAUTHENTICATED", 401)
        try Self.expectError(try viewer.post("runs/create", ["experiment_id": "0"], authorization: ""), "UNAUTHENTICATED", 401)
        func basic(_ user: String, _ password: String) -> String {
            "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        }
        #expect(try Fixtures.fingerprint(running.database) == before)
        // A wrong password is refused and counted like a failed sign-in (throttled the same way).
        try Self.expectError(try viewer.post("runs/create", ["experiment_id": "0"], authorization: basic(operatorName, "wrong")), "UNAUTHENTICATED", 401)
        #expect(try running.database.query("SELECT id FROM training_jobs").isEmpty)
        #expect(try running.database.query("SELECT id FROM login_failures").count == 2)
        // MLFLOW_TRACKING_USERNAME/PASSWORD: Basic with the account's password.
        let created = try viewer.post("runs/create", ["experiment_id": "0", "run_name": "basic-run"],
                                      authorization: basic(operatorName, RunningApp.password))
        #expect(created.status == 200, "\(created.body)")
        let again = try viewer.post("runs/create", ["experiment_id": "0", "run_name": "basic-run-2"],
                                    authorization: basic(operatorName, RunningApp.password))
        #expect(again.status == 200)
        // The run shows up as a reported job in the Default experiment, created by that user.
        let jobs = try running.browser().get("/training/jobs?experiment=Default")
        #expect(jobs.body.contains("basic-run") && jobs.body.contains("basic-run-2"))
        let audit = try running.database.query("SELECT actor FROM audit_log WHERE action = 'run.create'")
        #expect(try audit.map { try $0.string("actor") } == [operatorName, operatorName])
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func theMonitorChartsEveryKeyAndTheCompareURLIsTheState(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let client = try Client(running)
        let a = try Self.run(client, experiment: "cmp"), b = try Self.run(client, experiment: "cmp")
        for (id, lr) in [(a, "0.1"), (b, "0.3")] {
            #expect(try client.post("runs/log-batch", [
                "run_id": id, "params": [["key": "lr", "value": lr], ["key": "seed", "value": "7"]],
                "metrics": (1...40).flatMap { step in
                    ["loss", "accuracy", "perplexity"].map { ["key": $0, "value": 1.0 / Double(step), "timestamp": 1_800_000_000_000 + step * 1000, "step": step] as [String: Any] }
                },
            ]).status == 200)
        }
        let jobA = try #require(try RunStore(database: running.database).job(runID: a))
        let jobB = try #require(try RunStore(database: running.database).job(runID: b))
        let browser = try running.browser()
        let monitor = try browser.get("/training/jobs/\(jobA.id)")
        #expect(monitor.status == 200)
        for key in ["loss", "accuracy", "perplexity"] { #expect(monitor.body.contains("<svg id=\"chart-\(key)\""), "\(key)") }
        // Usual keys first, the rest by name.
        let order = ["chart-loss", "chart-accuracy", "chart-perplexity"].map { monitor.body.range(of: "id=\"\($0)\"")!.lowerBound }
        #expect(order == order.sorted())
        #expect(monitor.body.contains("Seconds since start") == false)
        #expect(try browser.get("/training/jobs/\(jobA.id)?x=time").body.contains("Seconds since start"))
        #expect(monitor.body.contains(a))   // the run id is shown
        let live = try Self.json(try browser.get("/training/jobs/\(jobA.id)/live"))
        #expect(live["keys"] as? [String] == ["loss", "accuracy", "perplexity"])

        let compare = try browser.get("/training/compare?job=\(jobA.id)&job=\(jobB.id)&metric=perplexity")
        #expect(compare.status == 200)
        #expect(compare.body.contains("series-c0") && compare.body.contains("series-c1"))
        #expect(compare.body.contains("legend-c1"))
        // lr differs, seed does not.
        #expect(compare.body.contains("<tr class=\"row-differs\"><th scope=\"row\">lr"))
        #expect(compare.body.contains("<tr><th scope=\"row\">seed</th>"))
        let bad = try browser.get("/training/compare?job=abc&job=999999&job=\(jobA.id)&metric=nothing")
        #expect(bad.status == 200)
        #expect(bad.body.contains("is not a job id") && bad.body.contains("There is no job #999999") && bad.body.contains("showing loss"))
        let many = (0..<12).map { "job=\($0 + 1)" }.joined(separator: "&")
        #expect(try browser.get("/training/compare?\(many)").body.contains("At most 10 jobs"))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aRunWithoutABaseModelGetsOnePickedOnItsPageOnce(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let model = try Fixtures.model(running.database, slug: "picked-lfm", name: "Picked LFM")
        let simulated = try Fixtures.job(running.database, modelID: model)
        let client = try Client(running)
        let id = try Self.run(client)
        #expect(try client.post("runs/update", ["run_id": id, "status": "FINISHED"]).status == 200)
        let job = try #require(try RunStore(database: running.database).job(runID: id))
        let browser = try running.browser()
        let page = try browser.get("/training/jobs/\(job.id)")
        #expect(page.body.contains("Set base model") && !page.body.contains("Deploy with options"))
        // Deploying before a model is known is refused with a message, and creates nothing.
        #expect(try browser.post("/deployments", [("job_id", String(job.id))]).status == 303)
        #expect(try browser.get("/training/jobs/\(job.id)").body.contains("This run has no base model yet"))
        #expect(try running.database.query("SELECT id FROM deployments").isEmpty)

        #expect(try browser.post("/training/jobs/\(job.id)/base-model", [("model", "no-such-model")]).status == 303)
        #expect(try browser.get("/training/jobs/\(job.id)").body.contains("Pick a model from the catalogue."))
        #expect(try browser.post("/training/jobs/\(simulated)/base-model", [("model", "picked-lfm")]).status == 303)
        #expect(try browser.get("/training/jobs/\(simulated)").body.contains("Only reported runs take a base model"))
        #expect(try browser.post("/training/jobs/999999/base-model", [("model", "picked-lfm")]).status == 404)

        #expect(try browser.post("/training/jobs/\(job.id)/base-model", [("model", "picked-lfm")]).status == 303)
        let after = try browser.get("/training/jobs/\(job.id)")
        #expect(after.body.contains("Base model set to Picked LFM.") && after.body.contains("Deploy with options"))
        #expect(try running.database.query("SELECT details FROM audit_log WHERE action = 'job.base_model'").map { try $0.string("details") } == ["Picked LFM"])
        #expect(try browser.post("/training/jobs/\(job.id)/base-model", [("model", "picked-lfm")]).status == 303)
        #expect(try browser.get("/training/jobs/\(job.id)").body.contains("This run already has its base model."))
        #expect(try running.database.query("SELECT id FROM audit_log WHERE action = 'job.base_model'").count == 1)
    }
}
