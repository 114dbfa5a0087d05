import Foundation
import HTTPServer

/// JSON responses for the API: snake_case keys, sorted. Errors are `{"error": "…"}`, with the
/// same text as `message` beside an `error_code` in MLflow's vocabulary, so one client can read
/// every API error of Trainyard, tracking or not.
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
        response(["error": message, "message": message, "error_code": errorCode(status)], status: status)
    }

    static func errorCode(_ status: Int) -> String {
        switch status {
        case 400, 413, 422: "INVALID_PARAMETER_VALUE"
        case 401: "UNAUTHENTICATED"
        case 403: "PERMISSION_DENIED"
        case 404: "RESOURCE_DOES_NOT_EXIST"
        case 405: "ENDPOINT_NOT_FOUND"
        case 409: "RESOURCE_CONFLICT"
        case 429: "REQUEST_LIMIT_EXCEEDED"
        case 503: "TEMPORARILY_UNAVAILABLE"
        default: status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST"
        }
    }
}
