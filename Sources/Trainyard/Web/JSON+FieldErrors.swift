import HTTPServer

extension JSON {
    /// A refused API body: one sentence, and the same message per field as the forms show,
    /// keyed by the body's field names: `{"error": "…", "errors": {"parameters": "…"}}`.
    static func invalid(_ errors: FieldErrors, status: Int = 422) -> HTTPResponse {
        let summary = errors.byField.count == 1 ? errors.byField.values.first!
                                                : "\(errors.byField.count) fields were not accepted; see errors for each one."
        return response(FieldErrorBody(error: summary, errors: errors.byField), status: status)
    }

    struct FieldErrorBody: Encodable {
        var error: String
        var errors: [String: String]
    }
}

extension JSON {
    /// A refused API body in the shape of every other API error, plus the field: `error_code`
    /// and `message` (also as `error`), `field` (the first refused one, in `order`) and
    /// `errors`, the form's message for each refused field.
    static func refused(_ errors: FieldErrors, order: [String], status: Int = 400) -> HTTPResponse {
        let message = errors.byField.count == 1 ? errors.byField.values.first!
                                                : "\(errors.byField.count) fields were not accepted; see errors for each one."
        let field = order.first { errors[$0] != nil } ?? errors.byField.keys.sorted().first ?? ""
        return response(RefusedBody(error: message, errorCode: errorCode(status), message: message, field: field, errors: errors.byField),
                        status: status)
    }

    struct RefusedBody: Encodable {
        var error: String
        var errorCode: String
        var message: String
        var field: String
        var errors: [String: String]
    }
}
