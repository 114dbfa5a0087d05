import Foundation
import HTTPServer

/// An error of the tracking API in MLflow's shape: `{"error_code": …, "message": …}`. The
/// client acts on the code (`RESOURCE_DOES_NOT_EXIST` makes `set_experiment` create the
/// experiment), and retries 5xx and 429, so bad input is always a 4xx.
struct TrackingError: Error, Equatable {
    var code: String
    var message: String
    var status: Int

    static func invalid(_ message: String) -> TrackingError {
        TrackingError(code: "INVALID_PARAMETER_VALUE", message: message, status: 400)
    }

    static func notFound(_ message: String) -> TrackingError {
        TrackingError(code: "RESOURCE_DOES_NOT_EXIST", message: message, status: 404)
    }

    /// MLflow answers an existing name with 400, not 409; the client only reads the code.
    static func exists(_ message: String) -> TrackingError {
        TrackingError(code: "RESOURCE_ALREADY_EXISTS", message: message, status: 400)
    }

    static func missing(_ parameter: String) -> TrackingError {
        invalid("Missing value for required parameter '\(parameter)'. See the API docs for more information about request parameters.")
    }

    static func noRun(_ id: String) -> TrackingError { notFound("Run with id=\(id) not found") }

    /// What Trainyard leaves out (artifacts, the model registry): 501, which the client does
    /// not retry.
    static let unsupported = TrackingError(
        code: "NOT_IMPLEMENTED",
        message: "Trainyard's tracking server stores experiments, runs, params, tags and metrics; artifacts and the model registry are not supported (see /docs/tracking).",
        status: 501)

    var response: HTTPResponse {
        TrackingJSON.response(.object([("error_code", .string(code)), ("message", .string(message))]), status: status)
    }
}
