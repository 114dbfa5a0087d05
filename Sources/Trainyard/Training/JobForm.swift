import HTTPServer

/// The new-job form: decoded from the POST body and validated on the server.
///
/// Every field keeps the raw text the user typed, so a refused form comes back as typed.
struct JobForm {
    static let batchSizes = [4, 8, 16, 32, 64, 128]
    static let fields = ["name", "model", "epochs", "learning_rate", "batch_size", "notes"]

    var name = ""
    var model = ""
    var epochs = "3"
    var learningRate = "0.0003"
    var batchSize = "32"
    var notes = ""

    init() {}

    init(_ form: QueryParameters) {
        name = form["name"] ?? ""
        model = form["model"] ?? ""
        epochs = form["epochs"] ?? ""
        learningRate = form["learning_rate"] ?? ""
        batchSize = form["batch_size"] ?? ""
        notes = form["notes"] ?? ""
    }

    /// The values as typed, by field name, for the flash that brings the form back.
    var values: [String: String] {
        ["name": name, "model": model, "epochs": epochs, "learning_rate": learningRate, "batch_size": batchSize, "notes": notes]
    }

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
        var errors: [String: String] = [:]
        let trimmedName = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmedName.isEmpty {
            errors["name"] = "Enter a name for the job."
        } else if trimmedName.count > 100 {
            errors["name"] = "Keep the name to 100 characters or fewer."
        } else if !trimmedName.unicodeScalars.allSatisfy({ Self.nameCharacters.contains($0) }) {
            errors["name"] = "Use letters, numbers, spaces, hyphens, underscores or dots."
        }

        let slug = model.trimmingCharacters(in: .whitespaces)
        if slug.isEmpty {
            errors["model"] = "Choose a model to train."
        } else if slug.count > 100 {
            errors["model"] = "Choose a model from the catalogue."
        } else if try !modelExists(slug) {
            errors["model"] = "Choose a model from the catalogue."
        }

        let epochCount = Int(epochs.trimmingCharacters(in: .whitespaces))
        if epochCount == nil || !(1...100).contains(epochCount!) {
            errors["epochs"] = "Epochs must be a whole number from 1 to 100."
        }

        let rateText = learningRate.trimmingCharacters(in: .whitespaces)
        let rate = rateText.count <= 32 ? Double(rateText) : nil
        if rate == nil || !rate!.isFinite || rate! <= 0 || rate! > 1 {
            errors["learning_rate"] = "Learning rate must be a number above 0 and at most 1, such as 0.0003 or 3e-4."
        }

        let batch = Int(batchSize.trimmingCharacters(in: .whitespaces))
        if batch == nil || !Self.batchSizes.contains(batch!) {
            errors["batch_size"] = "Choose a batch size from the list."
        }

        if notes.count > 5000 {
            errors["notes"] = "Keep notes to 5,000 characters or fewer."
        }

        guard errors.isEmpty else { return .failure(FieldErrors(errors)) }
        return .success(Valid(name: trimmedName, modelSlug: slug, epochs: epochCount!, learningRate: rate!,
                              batchSize: batch!, notes: notes.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    static let nameCharacters: Set<Unicode.Scalar> = {
        var set = Set<Unicode.Scalar>()
        for range in [("a", "z"), ("A", "Z"), ("0", "9")] {
            for v in Unicode.Scalar(range.0)!.value...Unicode.Scalar(range.1)!.value { set.insert(Unicode.Scalar(v)!) }
        }
        for c in " -_." { set.insert(c.unicodeScalars.first!) }
        return set
    }()
}

/// Messages for form fields, by field name.
struct FieldErrors: Error {
    var byField: [String: String]
    init(_ byField: [String: String]) { self.byField = byField }

    /// One sentence for the flash summarising how many fields need attention.
    var summary: String {
        byField.count == 1 ? (byField.values.first ?? "Please check the form.") : "Please fix the \(byField.count) highlighted fields."
    }
}
