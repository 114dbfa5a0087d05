import HTTPServer

/// The limits of a training job's fields, defined once for the form, the store, the
/// configure template and the docs.
enum JobRules {
    static let name = TextRule(field: "name", maxScalars: 100, message: "Keep the name to 100 characters or fewer.")
    static let epochs = IntegerRule(field: "epochs", range: 1...100, message: "Epochs must be a whole number from 1 to 100.")
    static let learningRate = DecimalRule(field: "learning_rate", range: 0...1, excludesLowerBound: true,
                                          message: "Learning rate must be a number above 0 and at most 1, such as 0.0003 or 3e-4.")
    static let batchSizes = [4, 8, 16, 32, 64, 128]
    static let notes = TextRule(field: "notes", maxScalars: 5000, message: "Keep notes to 5,000 characters or fewer.")

    /// Letters, digits, spaces, hyphens, underscores and dots.
    static let nameCharacters: Set<Unicode.Scalar> = {
        var set = Set<Unicode.Scalar>()
        for range in [("a", "z"), ("A", "Z"), ("0", "9")] {
            for v in Unicode.Scalar(range.0)!.value...Unicode.Scalar(range.1)!.value { set.insert(Unicode.Scalar(v)!) }
        }
        for c in " -_." { set.insert(c.unicodeScalars.first!) }
        return set
    }()
}

/// The new-job form: decoded from the POST body and validated on the server.
///
/// Every field keeps the raw text the user typed, so a refused form comes back as typed.
struct JobForm {
    static let fields = ["name", "model", "epochs", "learning_rate", "batch_size", "notes"]
    static let defaults = ["name": "", "model": "", "epochs": "3", "learning_rate": "0.0003", "batch_size": "32", "notes": ""]

    /// The values as typed, by field name (every field present, "" when not sent), for the
    /// flash that brings a refused form back.
    let values: [String: String]

    init(_ form: QueryParameters) { values = form.values(of: Self.fields) }

    var name: String { values["name"]! }
    var model: String { values["model"]! }
    var epochs: String { values["epochs"]! }
    var learningRate: String { values["learning_rate"]! }
    var batchSize: String { values["batch_size"]! }
    var notes: String { values["notes"]! }

    struct Valid {
        var name: String
        var modelSlug: String
        var epochs: Int
        var learningRate: Double
        var batchSize: Int
        var notes: String
    }

    /// The validated job, or the message for each field that is wrong.
    func validate(modelExists: (String) throws -> Bool) rethrows -> Result<Valid, FieldErrors> {
        var errors = FieldErrors()
        let trimmedName = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmedName.isEmpty {
            errors["name"] = "Enter a name for the job."
        } else if !JobRules.name.accepts(trimmedName) {
            errors["name"] = JobRules.name.message
        } else if !trimmedName.unicodeScalars.allSatisfy({ JobRules.nameCharacters.contains($0) }) {
            errors["name"] = "Use letters, numbers, spaces, hyphens, underscores or dots."
        }

        let slug = model.trimmingCharacters(in: .whitespaces)
        if slug.isEmpty {
            errors["model"] = "Choose a model to train."
        } else if try slug.utf8.count > 100 || !modelExists(slug) {
            errors["model"] = "Choose a model from the catalogue."
        }

        var epochCount = 0
        switch JobRules.epochs.parse(epochs) {
        case .success(let value): epochCount = value
        case .failure(let error): errors["epochs"] = error.message
        case nil: errors["epochs"] = JobRules.epochs.message
        }

        var rate = 0.0
        switch JobRules.learningRate.parse(learningRate) {
        case .success(let value): rate = value
        case .failure(let error): errors["learning_rate"] = error.message
        case nil: errors["learning_rate"] = JobRules.learningRate.message
        }

        let batch = Int(batchSize.trimmingCharacters(in: .whitespaces))
        if batch == nil || !JobRules.batchSizes.contains(batch!) {
            errors["batch_size"] = "Choose a batch size from the list."
        }

        let trimmedNotes = notes.trimmingCharacters(in: .whitespacesAndNewlines)
        if !JobRules.notes.accepts(trimmedNotes) {
            errors["notes"] = JobRules.notes.message
        }

        guard errors.isEmpty else { return .failure(errors) }
        return .success(Valid(name: trimmedName, modelSlug: slug, epochs: epochCount, learningRate: rate,
                              batchSize: batch!, notes: trimmedNotes))
    }
}
