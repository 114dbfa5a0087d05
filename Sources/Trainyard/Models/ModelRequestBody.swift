import Foundation
import HTTPServer

/// The JSON body of `POST /api/models` and `POST /api/models/{slug}`, read into the form's
/// text values, so the API and the pages are validated by `ModelForm` with the same messages.
///
/// ```json
/// {"name": "LFM2 1.2B", "slug": "lfm2-1-2b", "parameters": "1.2B", "context_length": 32768, "card": "# LFM2"}
/// ```
struct ModelRequestBody {
    /// The fields sent, as text: `"1.2B"` and `1200000000` both become text the form parses.
    /// A field sent as `null` counts as not sent.
    var fields: [String: String] = [:]
    /// Fields sent with a JSON type they cannot have (`"name": 5`, `"parameters": true`).
    var typeErrors = FieldErrors()

    static let textFields: Set<String> = ["name", "slug", "card"]
    static let example = #"{"name": "LFM2 1.2B", "parameters": "1.2B", "context_length": 32768}"#

    /// The body of `request`, or a 400 (not a JSON object, unknown field) or 415 (not JSON).
    static func parse(_ request: HTTPRequest) throws -> ModelRequestBody {
        let mediaType = request.headers["Content-Type"]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/json" else {
            throw HTTPError(status: 415, title: "Unsupported media type",
                            message: "Send the model as JSON, with the header Content-Type: application/json.")
        }
        guard !request.body.isEmpty else { throw notAnObject }
        let object: [String: JSONScalar]
        do {
            object = try JSONDecoder().decode([String: JSONScalar].self, from: Data(request.body))
        } catch {
            throw notAnObject
        }
        var body = ModelRequestBody()
        for (key, value) in object {
            guard ModelForm.fields.contains(key) else {
                throw HTTPError(status: 400, title: "Bad request",
                                message: "Unknown field '\(key.prefix(scalars: 40))': send name, slug, parameters, context_length or card.")
            }
            if let text = value.text(asString: textFields.contains(key)) {
                body.fields[key] = text
            } else if !value.isNull {
                body.typeErrors[key] = typeMessage(key)
            }
        }
        return body
    }

    static let notAnObject = HTTPError(status: 400, title: "Bad request",
                                       message: "Send the model as a JSON object, such as \(example).")

    static func typeMessage(_ field: String) -> String {
        switch field {
        case "parameters": ModelRules.parameters.message
        case "context_length": ModelRules.contextLength.message
        default: "\(field) must be a JSON string."
        }
    }
}

/// One value of a JSON object, as far as a form field cares: a scalar, or something else.
enum JSONScalar: Decodable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    /// An array or an object.
    case nested

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else {
            self = .nested
        }
    }

    var isNull: Bool { if case .null = self { true } else { false } }

    /// The value as a form field's text; nil for null and for types the field cannot take.
    /// A text field takes only strings; a number field also takes JSON numbers (a whole
    /// `1.2e9` is written as digits, anything else as it is, for the rule to refuse).
    func text(asString: Bool) -> String? {
        switch self {
        case .string(let s): return s
        case .integer(let n) where !asString: return String(n)
        case .number(let d) where !asString:
            if d.isFinite, d == d.rounded(), abs(d) < 9e18 { return String(Int64(d)) }
            return String(d)
        default: return nil
        }
    }
}
