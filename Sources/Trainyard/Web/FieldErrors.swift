import HTTPServer

/// Messages for form fields, by field name.
struct FieldErrors: Error {
    var byField: [String: String]
    init(_ byField: [String: String] = [:]) { self.byField = byField }

    var isEmpty: Bool { byField.isEmpty }
    subscript(field: String) -> String? {
        get { byField[field] }
        set { byField[field] = newValue }
    }

    /// One sentence for the flash summarising how many fields need attention.
    var summary: String {
        byField.count == 1 ? (byField.values.first ?? "Please check the form.") : "Please fix the \(byField.count) highlighted fields."
    }
}

/// A rule a store refused input by: the field and the rule's own message. Handlers validate
/// first, so this only reaches the web boundary when a caller forgot to; it becomes a 422 page
/// there, never a crash.
struct InvalidInput: Error, Equatable {
    var field: String
    var message: String
}

extension QueryParameters {
    /// The first value of each of `fields`, "" for those not sent: what a form decodes.
    func values(of fields: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for field in fields { out[field] = self[field] ?? "" }
        return out
    }
}
