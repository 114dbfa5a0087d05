import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

/// One answer of the deployments API: status, the body as a JSON object, the raw response.
private struct APIAnswer {
    var status: Int
    var object: [String: Any]
    var response: TestResponse

    var message: String? { object["message"] as? String }
    var errors: [String: String]? { object["errors"] as? [String: String] }
    var rows: [[String: Any]] { object["deployments"] as? [[String: Any]] ?? [] }
    var ids: [Int] { rows.compactMap { $0["id"] as? Int } }
}

/// A request with `role`'s token (nil: none); `json` is sent as an application/json body.
private func api(_ running: RunningApp, _ method: String, _ path: String, json: String? = nil, role: Role? = .operator,
                 contentType: String = "application/json") throws -> APIAnswer {
    var headers: [(String, String)] = []
    if let role { headers.append(("Authorization", "Bearer " + (try running.token(role)))) }
    if json != nil { headers.append(("Content-Type", contentType)) }
    let response = try TestHTTPClient.send(port: running.port, method: method, path: path, headers: headers, body: json ?? "")
    let object = (try? JSONSerialization.jsonObject(with: Data(response.body.utf8))) as? [String: Any] ?? [:]
    return APIAnswer(status: response.status, object: object, response: response)
}

/// Every refusal has the shape of every other API error.
private func expectError(_ answer: APIAnswer, _ status: Int, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(answer.status == status, "\(answer.response.body.prefix(300))", sourceLocation: sourceLocation)
    #expect(answer.message == message, sourceLocation: sourceLocation)
    #expect(answer.object["error"] as? String == message, sourceLocation: sourceLocation)
    #expect(answer.object["error_code"] as? String == JSON.errorCode(status), sourceLocation: sourceLocation)
    #expect(answer.response.header("Content-Type")?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
}

/// A 400 naming `field` with the form's `message` for it.
private func expectRefused(_ answer: APIAnswer, _ field: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
    expectError(answer, 400, message, sourceLocation: sourceLocation)
    #expect(answer.object["field"] as? String == field, sourceLocation: sourceLocation)
    #expect(answer.errors == [field: message], sourceLocation: sourceLocation)
}

/// UTC to the second, such as 2025-03-14T09:26:53Z.
private func isISO(_ text: Any?) -> Bool {
    (text as? String)?.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"#, options: .regularExpression) != nil
}

/// The deployments JSON API over a real socket with tokens, on both databases.
@Suite struct DeploymentAPITests {
    @Test(arguments: TestDatabaseKind.enabled)
    func theListTakesThePagesQueryStringAndSaysWhatItApplied(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let empty = try api(running, "GET", "/api/deployments", role: .viewer)
        #expect(empty.status == 200 && empty.rows.isEmpty && empty.object["has_more"] as? Bool == false)

        let ids = try DeploymentListQueryTests().seed(db)
        let all = try api(running, "GET", "/api/deployments", role: .viewer)
        #expect(all.status == 200)
        #expect(all.ids == ids.reversed(), "newest first, as on the page")
        #expect(all.object["page"] as? Int == 1 && all.object["per"] as? Int == 25 && all.object["has_more"] as? Bool == false)
        #expect(all.object["sort"] as? String == "created" && all.object["dir"] as? String == "desc")
        #expect(all.object["q"] as? String == "" && all.object["status"] as? [String] == [])

        // A row: what the table shows, with the figures as numbers.
        let newest = try #require(all.rows.first)
        #expect(newest["model"] as? String == "Big Coder")
        #expect(newest["name"] as? String == "big-coder-v1.11.0" && newest["version"] as? String == "v1.11.0")
        #expect(newest["status"] as? String == "deploying")
        #expect(newest["replicas"] as? [String: Int] == ["target": 1, "running": 0])
        let latest = try #require(newest["latest"] as? [String: Double])
        #expect(latest == ["rps": 34.5, "p50_ms": 73, "p95_ms": 790, "p99_ms": 1450, "error_rate": 0.023])
        #expect(isISO(newest["created_at"]))
        #expect(newest["url"] as? String == "/api/deployments/\(ids[23])" && newest["page_url"] as? String == "/deployments/\(ids[23])")

        let filtered = try api(running, "GET", "/api/deployments?status=paused&status=active&sort=p95&dir=desc&q=NANO")
        #expect(filtered.object["status"] as? [String] == ["active", "paused"] && filtered.object["q"] as? String == "NANO")
        #expect(filtered.ids == ids.enumerated().filter { $0.offset % 4 < 2 && $0.offset % 2 == 0 }.map(\.element).reversed())
        #expect(filtered.rows.allSatisfy { ["active", "paused"].contains($0["status"] as? String) && $0["model"] as? String == "Nano Chat" })
        #expect(try api(running, "GET", "/api/deployments?sort=rps&dir=asc").ids == ids)

        let second = try api(running, "GET", "/api/deployments?per=10&page=2")
        #expect(second.ids == Array(ids.reversed()[10..<20]) && second.object["has_more"] as? Bool == true)
        let third = try api(running, "GET", "/api/deployments?per=10&page=3")
        #expect(third.ids.count == 4 && third.object["has_more"] as? Bool == false)
        #expect(try api(running, "GET", "/api/deployments?page=50").rows.isEmpty)

        // Bad values fall back to the defaults, and the answer says which were applied.
        let bad = try api(running, "GET", "/api/deployments?sort=drop%20table&dir=sideways&page=-3&per=100000&status=deleted&status=bogus")
        #expect(bad.status == 200)
        #expect(bad.object["sort"] as? String == "created" && bad.object["dir"] as? String == "desc")
        #expect(bad.object["page"] as? Int == 1 && bad.object["per"] as? Int == 100 && bad.object["status"] as? [String] == [])
        #expect(bad.ids == ids.reversed())
        let deep = try api(running, "GET", "/api/deployments?page=100000&per=100")
        #expect(deep.status == 200 && deep.object["page"] as? Int == 101 && deep.object["has_more"] as? Bool == false)

        // Deleted deployments are not listed, but can still be read.
        #expect(try api(running, "DELETE", "/api/deployments/\(ids[23])").status == 200)
        #expect(try api(running, "GET", "/api/deployments").ids == Array(ids.reversed().dropFirst()))
        #expect(try api(running, "GET", "/api/deployments/\(ids[23])").object["deleted_at"] is String)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func deployingAnswers201WithTheDeploymentAndItsLocation(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let model = try Fixtures.model(db, slug: "lfm-1b", name: "LFM 1B")
        let first = try Fixtures.completeJob(db, modelID: model, name: "intent-v1")
        let second = try Fixtures.completeJob(db, modelID: model, name: "intent-v2")

        let created = try api(running, "POST", "/api/deployments", json: #"{"job_id": \#(first)}"#)
        #expect(created.status == 201, "\(created.response.body)")
        let id = try #require(created.object["id"] as? Int)
        #expect(created.response.header("Location") == "/api/deployments/\(id)")
        #expect(created.object["name"] as? String == "lfm-1b-v1.0.0" && created.object["version"] as? String == "v1.0.0")
        #expect(created.object["status"] as? String == "deploying" && created.object["model"] as? String == "LFM 1B")
        #expect(created.object["model_slug"] as? String == "lfm-1b" && created.object["endpoint"] as? String == "/api/inference/lfm-1b/v1.0.0")
        let job = try #require(created.object["job"] as? [String: Any])
        #expect(job["id"] as? Int == first && job["name"] as? String == "intent-v1" && job.count == 2)
        #expect(created.object["deployed_by"] as? String == "test-operator")
        // The defaults of the model's size class, as the one-click Deploy button.
        #expect(created.object["resources"] as? [String: Double] == ["cpu": 4, "memory_mb": 16384, "gpu": 1, "storage_gb": 20])
        let replicas = try #require(created.object["replicas"] as? [String: Any])
        #expect(replicas["target"] as? Int == 2 && replicas["running"] as? Int == 0)
        let instances = try #require(replicas["instances"] as? [[String: Any]])
        #expect(instances.map { $0["ordinal"] as? Int } == [1, 2] && instances.allSatisfy { $0["status"] as? String == "pending" })
        let history = try #require((created.object["history"] as? [[String: Any]])?.map { $0.compactMapValues { $0 as? String } })
        #expect(history.count == 1)
        #expect((created.object["history"] as? [[String: Any]])?.first?["revision"] as? Int == 1)
        #expect(history[0]["event"] == "deploy")
        #expect(created.object["revision"] as? Int == 1 && (created.object["revisions"] as? [Any])?.count == 1)
        #expect(history[0]["old_status"] == nil && history[0]["new_status"] == "deploying" && history[0]["by"] == "test-operator")
        #expect(history[0]["reason"] == "deployed from training job #\(first) with 2 replicas")
        #expect(isISO(history[0]["at"]))
        #expect(created.object["deleted_at"] == nil)
        #expect((created.object["latest"] as? [String: Any])?["at"] == nil, "no window yet")
        #expect(try Fixtures.auditDetails(db, "deployment.create") == ["test-operator \(id): lfm-1b-v1.0.0 (v1.0.0) from job #\(first), 2 replicas"])

        let chosen = try api(running, "POST", "/api/deployments", json: """
            {"job_id": \(second), "name": " intent.prod ", "replicas": 3, "cpu": 1.5, "memory_mb": 2048, "gpu": 0, "storage_gb": 5.0}
            """)
        #expect(chosen.status == 201)
        #expect(chosen.object["name"] as? String == "intent.prod")
        #expect(chosen.object["resources"] as? [String: Double] == ["cpu": 1.5, "memory_mb": 2048, "gpu": 0, "storage_gb": 5])
        #expect((chosen.object["replicas"] as? [String: Any])?["target"] as? Int == 3)

        let read = try api(running, "GET", "/api/deployments/\(id)", role: .viewer)
        #expect(read.status == 200 && read.object["name"] as? String == "lfm-1b-v1.0.0")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func refusedDeploysCarryTheFormsMessagesAndCreateNothing(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let model = try Fixtures.model(db)
        let done = try Fixtures.completeJob(db, modelID: model)
        let queued = try Fixtures.job(db, modelID: model, name: "waiting")
        let live = try Fixtures.completeJob(db, modelID: model, name: "live")
        _ = try Fixtures.deployment(db, jobID: live)
        _ = try running.token(.operator)
        let before = try Fixtures.fingerprint(db)

        for json in ["{}", #"{"job_id": "7"}"#, #"{"job_id": 0}"#, #"{"job_id": -2}"#, #"{"job_id": 1.5}"#, #"{"job_id": null}"#, #"{"job_id": [1]}"#] {
            expectRefused(try api(running, "POST", "/api/deployments", json: json), "job_id", DeploymentMessages.missingJobID)
        }
        let cases: [(String, String, String)] = [
            (#""replicas": 0"#, "replicas", DeploymentRules.replicas.message),
            (#""replicas": 2.5"#, "replicas", DeploymentRules.replicas.message),
            (#""replicas": "3""#, "replicas", DeploymentRules.replicas.message),
            (#""cpu": 99"#, "cpu", DeploymentRules.cpu.message),
            (#""cpu": true"#, "cpu", DeploymentRules.cpu.message),
            (#""memory_mb": 1"#, "memory_mb", DeploymentRules.memoryMB.message),
            (#""gpu": 9"#, "gpu", DeploymentRules.gpu.message),
            (#""storage_gb": 1e9"#, "storage_gb", DeploymentRules.storageGB.message),
            (#""name": "has spaces""#, "name", "Use letters, numbers, hyphens, underscores or dots in the deployment name."),
            (#""name": "\#(String(repeating: "x", count: 101))""#, "name", DeploymentRules.name.message),
            (#""name": 5"#, "name", "name must be a JSON string."),
        ]
        for (field, name, message) in cases {
            expectRefused(try api(running, "POST", "/api/deployments", json: #"{"job_id": \#(done), \#(field)}"#), name, message)
        }
        let several = try api(running, "POST", "/api/deployments", json: #"{"job_id": \#(done), "replicas": 0, "gpu": 99}"#)
        expectError(several, 400, "2 fields were not accepted; see errors for each one.")
        #expect(several.object["field"] as? String == "replicas")
        #expect(several.errors == ["replicas": DeploymentRules.replicas.message, "gpu": DeploymentRules.gpu.message])

        for (body, message) in [("", "Send the deployment as a JSON object, such as {\"job_id\": 42, \"replicas\": 2}."),
                                ("not json", "Send the deployment as a JSON object, such as {\"job_id\": 42, \"replicas\": 2}."),
                                ("[1]", "Send the deployment as a JSON object, such as {\"job_id\": 42, \"replicas\": 2}."),
                                (#"{"job_id": 1, "replica": 2}"#, "Unknown field 'replica': send job_id, name, replicas, cpu, memory_mb, gpu or storage_gb.")] {
            let answer = try api(running, "POST", "/api/deployments", json: body)
            expectError(answer, 400, message)
            #expect(answer.object["field"] == nil)
        }
        expectError(try api(running, "POST", "/api/deployments", json: "job_id=1", contentType: "application/x-www-form-urlencoded"),
                    415, "Send the deployment as JSON, with the header Content-Type: application/json.")

        expectError(try api(running, "POST", "/api/deployments", json: #"{"job_id": 4242}"#), 404, "There is no training job #4242 to deploy.")
        expectError(try api(running, "POST", "/api/deployments", json: #"{"job_id": \#(queued)}"#), 409,
                    "Only completed training jobs can be deployed; this job is queued.")
        expectError(try api(running, "POST", "/api/deployments", json: #"{"job_id": \#(live), "replicas": 1}"#), 409,
                    DeploymentRoutes.alreadyLiveMessage(name: "test-model-v1.0.0", status: .deploying))
        #expect(try Fixtures.fingerprint(db) == before)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func lifecycleActionsAnswerWithTheDeploymentAfterwardsOrThePagesRefusal(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let model = try Fixtures.model(db)
        let id = try Fixtures.deployment(db, jobID: try Fixtures.completeJob(db, modelID: model), name: "chat")
        let base = "/api/deployments/\(id)"

        let paused = try api(running, "POST", base + "/pause")
        #expect(paused.status == 200 && paused.object["status"] as? String == "paused")
        let change = try #require((paused.object["history"] as? [[String: Any]])?.last?.compactMapValues { $0 as? String })
        #expect(change["old_status"] == "deploying" && change["new_status"] == "paused" && change["by"] == "test-operator")
        #expect(change["reason"] == "paused: replicas stopped")
        expectError(try api(running, "POST", base + "/pause"), 409, "Only active or deploying deployments can be paused; this one is paused.")

        let resumed = try api(running, "POST", base + "/resume", json: "{}")
        #expect(resumed.status == 200 && resumed.object["status"] as? String == "deploying")
        expectError(try api(running, "POST", base + "/resume"), 409, "Only paused deployments can be resumed; this one is deploying.")

        let scaled = try api(running, "POST", base + "/scale", json: #"{"replicas": 3}"#)
        #expect(scaled.status == 200)
        let replicas = try #require(scaled.object["replicas"] as? [String: Any])
        #expect(replicas["target"] as? Int == 3 && (replicas["instances"] as? [Any])?.count == 3)
        #expect((scaled.object["history"] as? [[String: Any]])?.last?["reason"] as? String == "revision 2: replicas 1 → 3")
        let historyCount = (scaled.object["history"] as? [Any])?.count
        let again = try api(running, "POST", base + "/scale", json: #"{"replicas": 3}"#)
        #expect(again.status == 200 && (again.object["history"] as? [Any])?.count == historyCount, "nothing to do: no history row")

        let before = try Fixtures.fingerprint(db)
        for json in [#"{"replicas": 0}"#, #"{"replicas": 101}"#, #"{"replicas": "2"}"#, #"{"replicas": null}"#, "{}"] {
            expectRefused(try api(running, "POST", base + "/scale", json: json), "replicas", DeploymentRules.replicas.message)
        }
        expectError(try api(running, "POST", base + "/scale", json: #"{"replicas": 2, "cores": 4}"#), 400,
                    "Unknown field 'cores': send replicas, cpu, memory_mb, gpu or storage_gb.")
        expectError(try api(running, "POST", base + "/scale"), 400,
                    "Send the deployment as a JSON object, such as {\"replicas\": 3, \"memory_mb\": 32768}.")
        #expect(try Fixtures.fingerprint(db) == before)

        // A failed deployment is neither paused nor resumed; scaling starts it again.
        let failed = try Fixtures.deployment(db, jobID: try Fixtures.completeJob(db, modelID: model, name: "broken"))
        let broken = try #require(try DeploymentStore(database: db).find(failed))
        try db.transaction { conn in try DeploymentStore.fail(conn, broken, reason: "replicas did not start", now: Date()) }
        expectError(try api(running, "POST", "/api/deployments/\(failed)/pause"), 409,
                    "Only active or deploying deployments can be paused; this one is failed.")
        expectError(try api(running, "POST", "/api/deployments/\(failed)/resume"), 409,
                    "Only paused deployments can be resumed; this one is failed.")
        let restarted = try api(running, "POST", "/api/deployments/\(failed)/scale", json: #"{"replicas": 2}"#)
        #expect(restarted.status == 200 && (restarted.object["replicas"] as? [String: Any])?["target"] as? Int == 2)

        let deleted = try api(running, "DELETE", base)
        #expect(deleted.status == 200 && isISO(deleted.object["deleted_at"]))
        #expect(((deleted.object["replicas"] as? [String: Any])?["instances"] as? [[String: Any]])?.allSatisfy { $0["status"] as? String == "stopping" } == true)
        for (method, path, json) in [("DELETE", base, nil), ("POST", base + "/pause", nil), ("POST", base + "/resume", nil),
                                     ("POST", base + "/scale", #"{"replicas": 1}"#)] as [(String, String, String?)] {
            expectError(try api(running, method, path, json: json), 409, "This deployment has been deleted; it can no longer be changed.")
        }
        #expect(try Fixtures.auditDetails(db, "deployment.delete") == ["test-operator \(id): chat (was deploying)"])
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func unknownIdsAre404s(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        for id in ["4242", "abc", "0", "-1", "1e3", "99999999999999999999"] {
            let base = "/api/deployments/\(id)"
            for (method, path, json) in [("GET", base, nil), ("DELETE", base, nil), ("POST", base + "/pause", nil), ("POST", base + "/resume", nil),
                                         ("POST", base + "/scale", #"{"replicas": 2}"#), ("POST", base + "/scale", "{}")] as [(String, String, String?)] {
                expectError(try api(running, method, path, json: json), 404, DeploymentRoutes.notFoundMessage)
            }
        }
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func readingNeedsAnyTokenAndChangingAnOperatorsAsInTheModelsAPI(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let model = try Fixtures.model(db)
        let id = try Fixtures.deployment(db, jobID: try Fixtures.completeJob(db, modelID: model))
        let job = try Fixtures.completeJob(db, modelID: model, name: "another")
        _ = try running.token(.viewer)
        let browser = try running.browser(as: .admin)
        let before = try Fixtures.fingerprint(db)
        let writes: [(String, String, String?)] = [
            ("POST", "/api/deployments", #"{"job_id": \#(job)}"#), ("DELETE", "/api/deployments/\(id)", nil),
            ("POST", "/api/deployments/\(id)/pause", nil), ("POST", "/api/deployments/\(id)/resume", nil),
            ("POST", "/api/deployments/\(id)/scale", #"{"replicas": 4}"#),
        ]
        let reads: [(String, String, String?)] = [("GET", "/api/deployments", nil), ("GET", "/api/deployments/\(id)", nil)]
        for (method, path, json) in reads + writes {
            let anonymous = try api(running, method, path, json: json, role: nil)
            expectError(anonymous, 401, "Authentication required: send Authorization: Bearer <token> (or Basic with a user name and password).")
            #expect(anonymous.response.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            let forged = try TestHTTPClient.send(port: running.port, method: method, path: path,
                                                 headers: [("Authorization", "Bearer ty_not-a-real-token"), ("Content-Type", "application/json")],
                                                 body: json ?? "")
            #expect(forged.status == 401 && forged.body.contains("The token is not valid"), "\(method) \(path)")
        }
        for (method, path, json) in reads {
            #expect(try api(running, method, path, json: json, role: .viewer).status == 200, "\(path)")
            // A signed-in browser's cookie reads the API, as it does the models API.
            #expect(try browser.request(method, path).status == 200, "\(path)")
        }
        for (method, path, json) in writes {
            expectError(try api(running, method, path, json: json, role: .viewer), 403,
                        "This needs an operator role; you are signed in as test-viewer, a viewer. Nothing was changed.")
            // …but never changes it: a cookie is sent by any page, and there is no CSRF token here.
            let cookie = try TestHTTPClient.send(port: running.port, method: method, path: path,
                                                 headers: [("Cookie", browser.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")),
                                                           ("Content-Type", "application/json")], body: json ?? "")
            #expect(cookie.status == 401, "\(method) \(path)")
        }
        #expect(try Fixtures.fingerprint(db) == before)
    }
}

@Suite struct DeploymentAPIRevisionTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func resourcesMakeARevisionAndRollbackGoesToARevisionOrAVersion(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let model = try Fixtures.model(db)
        let first = try Fixtures.completeJob(db, modelID: model, name: "first")
        let old = try Fixtures.deployment(db, jobID: first)
        _ = try DeploymentStore(database: db).delete(old, by: .system, now: Date())
        let id = try Fixtures.deployment(db, jobID: try Fixtures.completeJob(db, modelID: model, name: "second"))
        let base = "/api/deployments/\(id)"

        // Paused, so the new configuration applies at once and the test needs no runner.
        #expect(try api(running, "POST", base + "/pause").status == 200)
        let bigger = try api(running, "POST", base + "/scale", json: #"{"replicas": 3, "memory_mb": 32768}"#)
        #expect(bigger.status == 200, "\(bigger.response.body.prefix(300))")
        let resources = try #require(bigger.object["resources"] as? [String: Any])
        #expect(resources["memory_mb"] as? Int == 32768)
        expectRefused(try api(running, "POST", base + "/scale", json: #"{"replicas": 3, "memory_mb": 100}"#),
                      "memory_mb", DeploymentRules.memoryMB.message)

        let back = try api(running, "POST", base + "/rollback", json: #"{"revision": 1}"#)
        #expect(back.status == 200)
        #expect((back.object["resources"] as? [String: Any])?["memory_mb"] as? Int == 16384)
        #expect(try db.queryOne("SELECT source_revision FROM deployment_revisions WHERE deployment_id = $1 AND number = 3",
                                [.int(Int64(id))])?.optionalInt("source_revision") == 1)
        expectError(try api(running, "POST", base + "/rollback", json: #"{"revision": 9}"#), 404, "This deployment has no revision 9.")
        expectError(try api(running, "POST", base + "/rollback", json: #"{"revision": 1, "version": "v1.0.0"}"#), 400,
                    "Send either a revision or a version to roll back to, such as {\"revision\": 2}.")

        // To a version: only a serving deployment, and the new one replaces it.
        #expect(try api(running, "POST", base + "/resume").status == 200)
        let rolled = try api(running, "POST", base + "/rollback", json: #"{"version": "v1.0.0"}"#)
        #expect(rolled.status == 201, "\(rolled.response.body.prefix(300))")
        #expect(rolled.object["version"] as? String == "v1.2.0")
        #expect(rolled.response.header("Location")?.hasPrefix("/api/deployments/") == true)
        expectError(try api(running, "POST", base + "/rollback", json: #"{"version": "v7.0.0"}"#), 404,
                    "Test Model has no deployment v7.0.0 to roll back to.")
        #expect(try api(running, "POST", base + "/rollback", json: #"{"revision": 1}"#, role: .viewer).status == 403)
    }

    /// A failed deployment whose job was deployed again cannot start again beside it: a 409
    /// naming the live one (the database's one-live-per-job rule, never a 500), on the page a flash.
    @Test(arguments: TestDatabaseKind.enabled)
    func startingAgainBesideTheJobsNewLiveDeploymentIsRefusedByName(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let job = try Fixtures.completeJob(db, modelID: try Fixtures.model(db))
        let first = try Fixtures.deployment(db, jobID: job, name: "first")
        try db.execute("UPDATE deployments SET status = 'failed', failure_reason = 'no replica could start' WHERE id = $1", [.int(Int64(first))])
        let second = try Fixtures.deployment(db, jobID: job, name: "second")
        let message = DeploymentMessages.jobAlreadyLive(name: "second", status: .deploying)
        expectError(try api(running, "POST", Paths.deploymentAPI(first) + "/scale", json: #"{"replicas": 2}"#), 409, message)
        let browser = try running.browser(as: .operator)
        let answer = try browser.post(Paths.deployment(first) + "/retry", [])
        #expect(answer.status == 303)
        let page = try browser.get(Paths.deployment(first))
        #expect(page.body.contains(message.replacingOccurrences(of: "'", with: "&#39;")) || page.body.contains(message), "the flash names the live one")
        #expect(page.body.contains(Paths.deployment(second)))
        #expect(try Fixtures.deploymentStatus(db, first) == "failed", "nothing changed")
    }
}
