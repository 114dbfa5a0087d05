import Foundation
import HTTPServer

/// JSON responses for the API: snake_case keys, sorted, errors as `{"error": "…"}`.
enum JSON {
    static func response<T: Encodable>(_ value: T, status: Int = 200) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var response = HTTPResponse.json(Array(data), status: status)
        // Live data: never replayed from a cache.
        response.headers.set("Cache-Control", "no-store")
        return response
    }

    static func error(_ message: String, status: Int) -> HTTPResponse {
        response(["error": message], status: status)
    }
}
