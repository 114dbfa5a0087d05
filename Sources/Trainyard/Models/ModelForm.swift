import HTTPServer

/// A model as typed into the Add and Edit forms, or sent to the JSON API: text per field,
/// validated on the server with the same messages for both.
struct ModelForm {
    static let fields = ["name", "slug", "parameters", "context_length", "card"]
    /// An empty form; the context length most small models start with.
    static let blank = ["name": "", "slug": "", "parameters": "", "context_length": "4096", "card": ""]

    /// The values as typed, by field name (every field present, "" when not sent), for the
    /// flash that brings a refused form back.
    let values: [String: String]

    init(_ form: QueryParameters) { values = form.values(of: Self.fields) }

    /// From text values by field name (the API's body); fields not given are "".
    init(values: [String: String]) {
        var all: [String: String] = [:]
        for field in Self.fields { all[field] = values[field] ?? "" }
        self.values = all
    }

    /// The form's values for a saved model, written so that saving them unchanged changes nothing.
    static func values(of model: CatalogueModel) -> [String: String] {
        ["name": model.name, "slug": model.slug, "parameters": ParameterCount.text(model.parameters),
         "context_length": String(model.contextLength), "card": model.card]
    }

    /// The validated model, or a message for each field that is wrong. An empty slug is made
    /// from the name. `slugTaken` says whether another model already has a slug.
    func validate(slugTaken: (String) throws -> Bool) rethrows -> Result<ModelStore.NewModel, FieldErrors> {
        var errors = FieldErrors()

        let name = values["name"]!.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty {
            errors["name"] = "Enter a name for the model."
        } else if !ModelRules.name.accepts(name) {
            errors["name"] = ModelRules.name.message
        } else if name.unicodeScalars.contains(where: ModelRules.isHiddenCharacter) {
            errors["name"] = "Use letters, numbers, spaces and punctuation in the name; no control or invisible characters."
        }

        let typedSlug = values["slug"]!.trimmingCharacters(in: .whitespaces)
        let slug = typedSlug.isEmpty ? ModelSlug.derive(from: name) : typedSlug
        if slug.isEmpty {
            if errors["name"] == nil {
                errors["slug"] = "Enter a slug: the name has no letters or digits to make one from."
            }
        } else if !ModelRules.slug.accepts(slug) {
            errors["slug"] = ModelRules.slug.message
        } else if ModelRules.reservedSlugs.contains(slug) {
            errors["slug"] = "The slug '\(slug)' is the address of a catalogue page; choose another."
        } else if try slugTaken(slug) {
            errors["slug"] = Self.slugTakenMessage(slug)
        }

        var parameters: Int64 = 0
        switch ModelRules.parameters.parse(values["parameters"]!) {
        case .success(let value): parameters = value
        case .failure(let error): errors["parameters"] = error.message
        case nil: errors["parameters"] = "Enter the parameter count, such as 354M, 1.2B or 350000000."
        }

        var contextLength = 0
        switch ModelRules.contextLength.parse(values["context_length"]!) {
        case .success(let value): contextLength = value
        case .failure(let error): errors["context_length"] = error.message
        case nil: errors["context_length"] = "Enter the context length in tokens, such as 4096."
        }

        let card = Self.normalizedCard(values["card"]!)
        if !ModelRules.card.accepts(card) {
            errors["card"] = ModelRules.card.message
        }

        guard errors.isEmpty else { return .failure(errors) }
        return .success(ModelStore.NewModel(slug: slug, name: name, parameters: parameters, contextLength: contextLength, card: card))
    }

    static func slugTakenMessage(_ slug: String) -> String { "A model with the slug '\(slug)' already exists." }

    /// Whether a slug's message is `slugTakenMessage` (the API answers it with 409, not 422).
    static func isSlugTakenMessage(_ message: String) -> Bool {
        message.hasPrefix("A model with the slug '") && message.hasSuffix("' already exists.")
    }

    /// Browsers send a textarea's line breaks as CRLF but count them as one character for
    /// `maxlength`; storing LF makes the server count as the browser did.
    static func normalizedCard(_ card: String) -> String {
        card.replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
