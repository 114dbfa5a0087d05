import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

/// A JSON request to the models API with `role`'s token (nil: none).
private func api(_ running: RunningApp, _ method: String, _ path: String, json: String? = nil, role: Role? = .operator,
                 contentType: String = "application/json") throws -> (status: Int, object: [String: Any], response: TestResponse) {
    var headers: [(String, String)] = []
    if let role { headers.append(("Authorization", "Bearer " + (try running.token(role)))) }
    if json != nil { headers.append(("Content-Type", contentType)) }
    let response = try TestHTTPClient.send(port: running.port, method: method, path: path, headers: headers, body: json ?? "")
    let object = (try? JSONSerialization.jsonObject(with: Data(response.body.utf8))) as? [String: Any] ?? [:]
    return (response.status, object, response)
}

/// The catalogue's JSON API, over a real socket, on both databases.
@Suite struct ModelAPITests {
    @Test(arguments: TestDatabaseKind.enabled)
    func scriptsAddReadListEditAndDeleteModels(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }

        let created = try api(running, "POST", "/api/models",
                              json: ##"{"name": "LFM2 1.2B", "parameters": "1.17B", "context_length": 32768, "card": "# LFM2"}"##)
        #expect(created.status == 201)
        #expect(created.response.header("Location") == "/api/models/lfm2-1-2b")
        #expect(created.response.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(created.object["slug"] as? String == "lfm2-1-2b")
        #expect(created.object["parameters"] as? Int == 1_170_000_000)
        #expect(created.object["size_class"] as? String == "small")
        #expect(created.object["context_length"] as? Int == 32768)
        #expect(created.object["card"] as? String == "# LFM2")
        #expect(try Fixtures.auditDetails(running.database, "model.create") == ["test-operator lfm2-1-2b: LFM2 1.2B: 1.17B parameters, context 32768"])

        // Parameters as JSON numbers, whole or in exponent form; an explicit slug.
        for (json, slug, count) in [(#"{"name": "Tiny", "parameters": 354000000, "context_length": 2048}"#, "tiny", 354_000_000),
                                    (#"{"name": "Eight", "slug": "eight-b", "parameters": 8e9, "context_length": 8192}"#, "eight-b", 8_000_000_000)] {
            let response = try api(running, "POST", "/api/models", json: json)
            #expect(response.status == 201, "\(json)")
            #expect(response.object["slug"] as? String == slug)
            #expect(response.object["parameters"] as? Int == count)
        }

        let list = try api(running, "GET", "/api/models", role: .viewer)
        #expect(list.status == 200)
        let slugs = (list.object["models"] as? [[String: Any]])?.compactMap { $0["slug"] as? String }
        #expect(slugs == ["tiny", "lfm2-1-2b", "eight-b"], "smallest first, as on the page")
        let one = try api(running, "GET", "/api/models/lfm2-1-2b", role: .viewer)
        #expect(one.status == 200 && one.object["name"] as? String == "LFM2 1.2B")

        // A partial update keeps what was not sent.
        let resized = try api(running, "POST", "/api/models/lfm2-1-2b", json: #"{"context_length": 8192}"#)
        #expect(resized.status == 200)
        #expect(resized.object["context_length"] as? Int == 8192)
        #expect(resized.object["parameters"] as? Int == 1_170_000_000)
        #expect(resized.object["card"] as? String == "# LFM2")
        let moved = try api(running, "POST", "/api/models/lfm2-1-2b", json: #"{"slug": "lfm2-small", "parameters": "7B"}"#)
        #expect(moved.status == 200)
        #expect(moved.object["size_class"] as? String == "large")
        #expect(try api(running, "GET", "/api/models/lfm2-1-2b").status == 404)
        #expect(try api(running, "GET", "/api/models/lfm2-small").object["context_length"] as? Int == 8192)
        #expect(try Fixtures.auditDetails(running.database, "model.update").count == 2)

        let deleted = try api(running, "DELETE", "/api/models/lfm2-small")
        #expect(deleted.status == 200)
        #expect(deleted.object["deleted"] as? String == "lfm2-small")
        #expect(try api(running, "GET", "/api/models/lfm2-small").status == 404)
        #expect(try Fixtures.auditDetails(running.database, "model.delete") == ["test-operator lfm2-small: LFM2 1.2B"])
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func refusalsCarryThePagesMessagesWithFittingStatusesAndChangeNothing(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let used = try Fixtures.model(db, slug: "lfm-1b", name: "LFM 1B")
        for name in ["a", "b", "c"] { try Fixtures.job(db, modelID: used, name: name) }
        _ = try Fixtures.deployment(db, jobID: try Fixtures.completeJob(db, modelID: used))
        _ = try running.token(.operator)
        let before = try Fixtures.fingerprint(db)
        let row = try Fixtures.modelRow(db, "lfm-1b")

        let empty = try api(running, "POST", "/api/models", json: "{}")
        #expect(empty.status == 422)
        #expect(empty.object["error"] as? String == "3 fields were not accepted; see errors for each one.")
        #expect(empty.object["errors"] as? [String: String] == [
            "name": "Enter a name for the model.", "parameters": "Enter the parameter count, such as 354M, 1.2B or 350000000.",
            "context_length": "Enter the context length in tokens, such as 4096.",
        ])

        let cases: [(String, String, String)] = [
            (#"{"name": "X", "parameters": "lots", "context_length": 4096}"#, "parameters", ModelRules.parameters.message),
            (#"{"name": "X", "parameters": true, "context_length": 4096}"#, "parameters", ModelRules.parameters.message),
            (#"{"name": "X", "parameters": "1B", "context_length": 12.5}"#, "context_length", ModelRules.contextLength.message),
            (#"{"name": 5, "parameters": "1B", "context_length": 4096}"#, "name", "name must be a JSON string."),
            (#"{"name": "X", "slug": ["x"], "parameters": "1B", "context_length": 4096}"#, "slug", "slug must be a JSON string."),
            (#"{"name": "X", "slug": "Not OK", "parameters": "1B", "context_length": 4096}"#, "slug", ModelRules.slug.message),
        ]
        for (json, field, message) in cases {
            let response = try api(running, "POST", "/api/models", json: json)
            #expect(response.status == 422, "\(json)")
            #expect(response.object["errors"] as? [String: String] == [field: message], "\(json)")
            #expect(response.object["error"] as? String == message, "\(json)")
        }

        let taken = try api(running, "POST", "/api/models", json: #"{"name": "LFM 1B", "parameters": "1B", "context_length": 4096}"#)
        #expect(taken.status == 409)
        #expect(taken.object["errors"] as? [String: String] == ["slug": "A model with the slug 'lfm-1b' already exists."])

        for (json, status, message) in [("not json", 400, "Send the model as a JSON object"), ("[1, 2]", 400, "Send the model as a JSON object"),
                                        ("", 400, "Send the model as a JSON object"),
                                        (#"{"name": "X", "contxt_length": 1}"#, 400, "Unknown field 'contxt_length'")] {
            let response = try api(running, "POST", "/api/models", json: json)
            #expect(response.status == status, "\(json)")
            #expect((response.object["error"] as? String)?.hasPrefix(message) == true, "\(json)")
        }
        let form = try api(running, "POST", "/api/models", json: "name=X", contentType: "application/x-www-form-urlencoded")
        #expect(form.status == 415)
        #expect(form.object["error"] as? String == "Send the model as JSON, with the header Content-Type: application/json.")

        for (method, json) in [("GET", nil), ("POST", #"{"name": "Y"}"#), ("DELETE", nil)] as [(String, String?)] {
            let missing = try api(running, method, "/api/models/no-such-model", json: json)
            #expect(missing.status == 404, "\(method)")
            #expect(missing.object["error"] as? String == "There is no model with the slug 'no-such-model'.", "\(method)")
        }

        let inUse = try api(running, "DELETE", "/api/models/lfm-1b")
        #expect(inUse.status == 409)
        #expect(inUse.object["error"] as? String == "LFM 1B can't be deleted: 4 training jobs and 1 deployment use it.")
        #expect(inUse.object["jobs"] as? Int == 4 && inUse.object["deployments"] as? Int == 1)
        let badEdit = try api(running, "POST", "/api/models/lfm-1b", json: #"{"parameters": "0"}"#)
        #expect(badEdit.status == 422 && badEdit.object["errors"] as? [String: String] == ["parameters": ModelRules.parameters.message])

        #expect(try Fixtures.fingerprint(db) == before)
        #expect(try Fixtures.modelRow(db, "lfm-1b") == row)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func changingTheCatalogueNeedsATokenOfAnOperator(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        try Fixtures.model(running.database)
        _ = try running.token(.viewer)
        let browser = try running.browser(as: .admin)
        let before = try Fixtures.fingerprint(running.database)
        let body = #"{"name": "New one", "parameters": "1B", "context_length": 4096}"#
        for (method, path) in [("GET", "/api/models"), ("GET", "/api/models/test-model"), ("POST", "/api/models"),
                               ("POST", "/api/models/test-model"), ("DELETE", "/api/models/test-model")] {
            let anonymous = try api(running, method, path, json: method == "POST" ? body : nil, role: nil)
            #expect(anonymous.status == 401, "\(method) \(path)")
            #expect(anonymous.response.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            #expect((anonymous.object["error"] as? String)?.hasPrefix("Authentication required: send Authorization: Bearer <token>") == true)
        }
        #expect(try api(running, "GET", "/api/models", role: .viewer).status == 200)
        for (method, path) in [("POST", "/api/models"), ("POST", "/api/models/test-model"), ("DELETE", "/api/models/test-model")] {
            let viewer = try api(running, method, path, json: method == "POST" ? body : nil, role: .viewer)
            #expect(viewer.status == 403, "\(method) \(path)")
            #expect((viewer.object["error"] as? String)?.hasPrefix("This needs an operator role") == true)
        }
        // A signed-in browser's cookie reads the API but never changes it (no CSRF token there).
        #expect(try browser.request("GET", "/api/models").status == 200)
        let cookiePost = try TestHTTPClient.send(port: running.port, method: "POST", path: "/api/models",
                                                 headers: [("Cookie", browser.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")),
                                                           ("Content-Type", "application/json")], body: body)
        #expect(cookiePost.status == 401)
        #expect(try Fixtures.fingerprint(running.database) == before)
    }
}
