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
