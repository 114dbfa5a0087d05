import Foundation
import HTTPServer

/// The fields of a tracking API request: a GET's query string or a POST's JSON body, read
/// the way MLflow's client writes them (int64s as numbers or decimal strings, doubles as
/// numbers or "NaN"/"Infinity"/"-Infinity").
struct TrackingRequest {
    private let body: JSONValue?
    private let query: QueryParameters

    init(_ request: HTTPRequest) throws {
        query = request.query
        guard request.method == "POST" else {
            body = nil
            return
        }
        let type = request.headers["Content-Type"]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard let type else { throw TrackingError.invalid("Bad Request. Content-Type header is missing.") }
        guard type == "application/json" else {
            throw TrackingError.invalid("Bad Request. Content-Type must be one of ['application/json'].")
        }
        if request.body.isEmpty {
            body = .object([])
            return
        }
        guard let parsed = JSONValue.parse(request.body), case .object = parsed else {
            throw TrackingError.invalid("Malformed request: the body is not a JSON object.")
        }
        body = parsed
    }

    /// The raw value of `name`; a query string value is a string.
    func value(_ name: String) -> JSONValue? {
        if let body { return body[name].flatMap { $0.isNull ? nil : $0 } }
        return query[name].map(JSONValue.string)
    }

    func string(_ name: String) throws -> String? {
        switch value(name) {
        case nil: return nil
        case .string(let s)?: return s
        case .int(let i)?: return String(i)
        case let other?: throw TrackingError.invalid("Invalid value \(TrackingJSON.text(other)) for parameter '\(name)' supplied: expected a string.")
        }
    }

    func requiredString(_ name: String) throws -> String {
        guard let s = try string(name), !s.isEmpty else { throw TrackingError.missing(name) }
        return s
    }

    func int64(_ name: String) throws -> Int64? {
        try Self.int64(value(name), path: name)
    }

    static func int64(_ value: JSONValue?, path: String) throws -> Int64? {
        switch value {
        case nil: return nil
        case .int(let i)?: return i
        case .double(let d)? where d.rounded() == d && abs(d) < 9.2e18: return Int64(d)
        case .string(let s)?: if let i = Int64(s) { return i }
        default: break
        }
        throw TrackingError.invalid("Invalid value \(TrackingJSON.text(value!)) for parameter '\(path)' supplied: expected a whole number (64-bit integer).")
    }

    static func double(_ value: JSONValue?, path: String) throws -> Double? {
        switch value {
        case nil: return nil
        case .int(let i)?: return Double(i)
        case .double(let d)?: return d
        case .string(let s)?:
            switch s {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default: if let d = Double(s), d.isFinite { return d }
            }
        default: break
        }
        throw TrackingError.invalid("Invalid value \(TrackingJSON.text(value!)) for parameter '\(path)' supplied: Please specify value as a valid double (64-bit floating point).")
    }

    /// Every value of a repeated field: a JSON array, or a query key given several times.
    func list(_ name: String) throws -> [JSONValue] {
        if body == nil { return query.all(name).map(JSONValue.string) }
        switch value(name) {
        case nil: return []
        case .array(let items)?: return items
        case let other?: throw TrackingError.invalid("Invalid value \(TrackingJSON.text(other)) for parameter '\(name)' supplied: expected a list.")
        }
    }

    /// The run a request is about: `run_id`, or the older `run_uuid`.
    func runID() throws -> String {
        if let id = try string("run_id"), !id.isEmpty { return id }
        if let id = try string("run_uuid"), !id.isEmpty { return id }
        throw TrackingError.missing("run_id")
    }

    /// Key/value pairs (`params`, `tags`), each key checked as MLflow names are.
    func pairs(_ name: String, valueLimit: Int, valueEntity: String) throws -> [RunDataStore.KeyValue] {
        try list(name).enumerated().map { index, item in
            let path = "\(name)[\(index)]"
            guard case .object = item else { throw TrackingError.invalid("Invalid value for parameter '\(path)' supplied: expected an object.") }
            let key = try Self.stringField(item, "key", path: path) ?? ""
            try TrackingLimits.checkKey(key, path: "\(path).key", entity: "\(path).key")
            let value = try Self.stringField(item, "value", path: path) ?? ""
            try TrackingLimits.checkLength(value, limit: valueLimit, entity: valueEntity)
            return RunDataStore.KeyValue(key: key, value: value)
        }
    }

    static func stringField(_ object: JSONValue, _ field: String, path: String) throws -> String? {
        switch object[field] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case .int(let i)?: return String(i)
        case .double(let d)?: return String(d)
        case .bool(let b)?: return b ? "True" : "False"
        case let other?: throw TrackingError.invalid("Invalid value \(TrackingJSON.text(other)) for parameter '\(path).\(field)' supplied: expected a string.")
        }
    }
}

/// MLflow's limits on what a run may hold, checked before anything is written.
enum TrackingLimits {
    static let maxKeyLength = 250
    static let maxParamValueLength = 6000
    static let maxTagValueLength = 8000
    static let maxExperimentNameLength = 500
    static let maxMetricsPerBatch = 1000
    static let maxParamsPerBatch = 100
    static let maxTagsPerBatch = 100
    static let maxEntitiesPerBatch = 1000
    static let maxSearchResults = 50_000

    static let nameRule = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."

    /// A metric, param or tag key: 1–250 characters of letters, digits, `_ - . : /` and spaces,
    /// and not a path that resolves elsewhere (`..`, `/x`, `a//b`).
    static func checkKey(_ key: String, path: String, entity: String) throws {
        guard !key.isEmpty else { throw TrackingError.missing(path) }
        try checkLength(key, limit: maxKeyLength, entity: entity)
        let allowed = key.unicodeScalars.allSatisfy { c in
            CharacterSet.alphanumerics.contains(c) || "_-.: /".unicodeScalars.contains(c)
        }
        guard allowed else {
            throw TrackingError.invalid("Invalid value \(TrackingJSON.text(.string(key))) for parameter '\(path)' supplied: \(nameRule)")
        }
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        if key.hasPrefix("/") || key == "." || key.hasPrefix("..") || parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            throw TrackingError.invalid("Invalid value \(TrackingJSON.text(.string(key))) for parameter '\(path)' supplied: Names may be treated as files in certain cases, and must not resolve to other names when treated as such.")
        }
    }

    static func checkLength(_ text: String, limit: Int, entity: String) throws {
        if text.unicodeScalars.count > limit { throw TrackingError.invalid("'\(entity)' exceeds the maximum length of \(limit) characters") }
    }
}
