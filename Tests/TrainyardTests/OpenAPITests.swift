import Foundation
import Testing
import TrainyardTestSupport
@testable import Trainyard

/// `Docs/openapi.json` against the app: the routes it lists, the rules it quotes, how it is served.
@Suite struct OpenAPITests {
    static func document() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: RunningApp.repositoryRoot + "/Docs/" + OpenAPIDocument.fileName))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    /// "METHOD /path" for every operation of the document.
    static func operations(_ doc: [String: Any]) throws -> [String: [String: Any]] {
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        var out: [String: [String: Any]] = [:]
        for (path, item) in paths {
            for (method, operation) in item where methods.contains(method) {
                out[method.uppercased() + " " + path] = try #require(operation as? [String: Any])
            }
        }
        return out
    }

    /// The document's schema named `name` under components.
    static func schema(_ doc: [String: Any], _ name: String) throws -> [String: Any] {
        let components = try #require(doc["components"] as? [String: Any])
        return try #require((components["schemas"] as? [String: Any])?[name] as? [String: Any], "\(name)")
    }

    @Test func everyJSONRouteIsDocumentedAndEveryDocumentedRouteExists() throws {
        let running = try RunningApp(.sqlite)
        defer { running.stop() }
        // MLflow's tracking API is described by MLflow's own documentation.
        let routed = Set(running.app.routeTable.filter { $0.pattern.hasPrefix("/api/") && !$0.pattern.hasPrefix("/api/2.0/") }
            .map { "\($0.method) \($0.pattern)" })
        let documented = Set(try Self.operations(try Self.document()).keys)
        #expect(routed.filter { $0.contains(" /api/deployments") }.count == 11, "the route table is walked, not hand-listed")
        #expect(routed.subtracting(documented).isEmpty, "routed but not documented: \(routed.subtracting(documented).sorted())")
        #expect(documented.subtracting(routed).isEmpty, "documented but not routed: \(documented.subtracting(routed).sorted())")
    }

    @Test func operationsDocumentWhoMayUseThemAndEveryRefResolves() throws {
        let running = try RunningApp(.sqlite)
        defer { running.stop() }
        let doc = try Self.document()
        let operations = try Self.operations(doc)
        for route in running.app.routeTable where route.pattern.hasPrefix("/api/") && !route.pattern.hasPrefix("/api/2.0/") {
            let key = "\(route.method) \(route.pattern)"
            let responses = try #require(operations[key]?["responses"] as? [String: Any], "\(key)")
            #expect(responses["401"] != nil, "\(key) documents 401")
            #expect((responses["403"] != nil) == (route.access == .signedIn(.operator)), "\(key): 403 exactly when a viewer is refused")
            #expect(responses.keys.contains { $0.hasPrefix("2") }, "\(key) documents its success")
        }
        // Every $ref points at something in the document.
        let text = try String(contentsOfFile: RunningApp.repositoryRoot + "/Docs/" + OpenAPIDocument.fileName, encoding: .utf8)
        let components = try #require(doc["components"] as? [String: [String: Any]])
        let refs = try NSRegularExpression(pattern: ##""\$ref": "#/components/(\w+)/(\w+)""##)
        let ns = text as NSString
        let matches = refs.matches(in: text, range: NSRange(location: 0, length: ns.length))
        #expect(matches.count > 50)
        for match in matches {
            let kind = ns.substring(with: match.range(at: 1)), name = ns.substring(with: match.range(at: 2))
            #expect(components[kind]?[name] != nil, "\(kind)/\(name)")
        }
    }

    @Test func theDeploymentBodiesQuoteTheRulesThatEnforceThem() throws {
        let doc = try Self.document()
        let deploy = try #require(try Self.schema(doc, "DeployRequest")["properties"] as? [String: [String: Any]])
        #expect(Set(deploy.keys) == Set(DeploymentForm.fields), "the deploy form's fields, no more")
        func expectRange(_ property: [String: Any]?, _ low: Double, _ high: Double, _ name: String) {
            #expect(property?["minimum"] as? Double == low && property?["maximum"] as? Double == high, "\(name)")
        }
        for rule in [DeploymentRules.replicas, DeploymentRules.memoryMB, DeploymentRules.gpu, DeploymentRules.storageGB] {
            expectRange(deploy[rule.field], Double(rule.range.lowerBound), Double(rule.range.upperBound), rule.field)
            #expect(deploy[rule.field]?["type"] as? String == "integer")
        }
        expectRange(deploy["cpu"], DeploymentRules.cpu.range.lowerBound, DeploymentRules.cpu.range.upperBound, "cpu")
        #expect(deploy["name"]?["maxLength"] as? Int == DeploymentRules.name.maxScalars)
        let scale = try #require(try Self.schema(doc, "ScaleRequest")["properties"] as? [String: [String: Any]])
        expectRange(scale["replicas"], 1, 100, "scale replicas")
        #expect(Set(try Self.schema(doc, "DeploymentStatus")["enum"] as? [String] ?? []) == Set(DeploymentStatus.allCases.map(\.rawValue)))
        #expect(Set(try Self.schema(doc, "ReplicaStatus")["enum"] as? [String] ?? []) == Set(ReplicaStatus.allCases.map(\.rawValue)))
        #expect(Set(try Self.schema(doc, "SortKey")["enum"] as? [String] ?? []) == Set(DeploymentSortKey.allCases.map(\.rawValue)))
        // Bodies say deliberately whether they take more keys than they list.
        let schemas = try #require((doc["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
        for (name, schema) in schemas where schema["type"] as? String == "object" && schema["properties"] != nil {
            #expect(schema["additionalProperties"] as? Bool == false, "\(name)")
        }
    }

    @Test func theDocumentIsServedAsItIsOnDiskToAnyToken() throws {
        let running = try RunningApp(.sqlite)
        defer { running.stop() }
        let served = try TestHTTPClient.send(port: running.port, method: "GET", path: OpenAPIDocument.path,
                                             headers: [("Authorization", "Bearer " + (try running.token(.viewer)))])
        #expect(served.status == 200)
        #expect(served.header("Content-Type") == "application/json")
        let file = try String(contentsOfFile: RunningApp.repositoryRoot + "/Docs/" + OpenAPIDocument.fileName, encoding: .utf8)
        #expect(served.body == file)
        let anonymous = try TestHTTPClient.send(port: running.port, method: "GET", path: OpenAPIDocument.path)
        #expect(anonymous.status == 401)
    }

    @Test func aMissingOrBrokenDocumentStopsTheBoot() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: AppConfiguration.Invalid.self) { try OpenAPIDocument(directory: directory) }
        try #"{"openapi": "3.0.3", "paths": {}}"#.write(toFile: directory + "/openapi.json", atomically: true, encoding: .utf8)
        #expect(throws: AppConfiguration.Invalid.self) { try OpenAPIDocument(directory: directory) }
        let minimal = #"{"openapi": "3.1.0", "paths": {}}"#
        try minimal.write(toFile: directory + "/openapi.json", atomically: true, encoding: .utf8)
        #expect(try OpenAPIDocument(directory: directory).bytes == Array(minimal.utf8))
    }
}
