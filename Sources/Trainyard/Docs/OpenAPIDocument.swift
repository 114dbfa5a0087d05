import Foundation
import HTTPServer

/// `Docs/openapi.json`: the OpenAPI 3.1 description of the JSON API, a checked-in file read
/// once at start-up (a missing or broken one stops the boot, like a template) and served at
/// `GET /api/openapi.json`. `OpenAPITests` checks it against the route table.
struct OpenAPIDocument: Sendable {
    static let fileName = "openapi.json"
    static let path = "/api/openapi.json"

    /// The file as it is on disk, served byte for byte.
    let bytes: [UInt8]

    init(directory: String) throws {
        let file = (directory as NSString).appendingPathComponent(Self.fileName)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw AppConfiguration.Invalid(description: "the API description '\(file)' cannot be read (it lives beside the docs, in Docs/)")
        }
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        guard let version = object?["openapi"] as? String, version.hasPrefix("3.1"), object?["paths"] is [String: Any] else {
            throw AppConfiguration.Invalid(description: "the API description '\(file)' is not an OpenAPI 3.1 document in JSON")
        }
        bytes = Array(data)
    }

    static func add(to app: TrainyardApp) {
        // Signed-in, as the docs are: it describes nothing a token could not read anyway.
        app.get(path) { [unowned app] _ in .json(app.openAPI.bytes) }
    }
}
