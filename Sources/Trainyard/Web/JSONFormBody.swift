import Foundation
import HTTPServer

/// A JSON object body read into a form's text values, so an API is validated by the same form
/// type, with the same messages, as the page it mirrors.
///
/// ```swift
/// let body = try JSONFormBody.parse(ctx.request, fields: ["job_id", "name"], textFields: ["name"], noun: "the deployment",
///                                   example: #"{"job_id": 42}"#)
/// ```
///
/// Text fields take JSON strings only and number fields JSON numbers only (a whole `2e3` is
/// written as digits, anything else as it is, for the field's rule to refuse). `null` counts
/// as not sent.
struct JSONFormBody {
    /// The fields sent, as the text a form would have received.
    var fields: [String: String] = [:]
    /// Fields sent with a JSON type they cannot have, with the message for each.
    var typeErrors = FieldErrors()

    /// The body of `request`: a 400 when it is empty, not a JSON object or has a field not in
    /// `fields`; a 415 when it is not sent as `application/json`. `typeMessage` words a field
    /// sent with the wrong JSON type.
    static func parse(_ request: HTTPRequest, fields allowed: [String], textFields: Set<String>, noun: String, example: String,
                      typeMessage: (String) -> String) throws -> JSONFormBody {
        let notAnObject = HTTPError(status: 400, title: "Bad request", message: "Send \(noun) as a JSON object, such as \(example).")
        guard !request.body.isEmpty else { throw notAnObject }
        let mediaType = request.headers["Content-Type"]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/json" else {
            throw HTTPError(status: 415, title: "Unsupported media type",
                            message: "Send \(noun) as JSON, with the header Content-Type: application/json.")
        }
        let object: [String: JSONScalar]
        do {
            object = try JSONDecoder().decode([String: JSONScalar].self, from: Data(request.body))
        } catch {
            throw notAnObject
        }
        var body = JSONFormBody()
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            guard allowed.contains(key) else {
                throw HTTPError(status: 400, title: "Bad request",
                                message: "Unknown field '\(String(key.prefix(40)))': send \(Self.list(allowed)).")
            }
            let isText = textFields.contains(key)
            switch value {
            case .null: continue
            case .string(let text) where isText: body.fields[key] = text
            case .integer, .number:
                if !isText, let text = value.text(asString: false) { body.fields[key] = text } else { body.typeErrors[key] = typeMessage(key) }
            default: body.typeErrors[key] = typeMessage(key)
            }
        }
        return body
    }

    /// "a, b or c".
    static func list(_ names: [String]) -> String {
        names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}
