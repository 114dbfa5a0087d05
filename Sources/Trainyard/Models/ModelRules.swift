/// The limits of a catalogue model's fields, defined once for the form, the JSON API, the
/// store, the form template and the docs.
enum ModelRules {
    static let name = TextRule(field: "name", maxScalars: 80, message: "Keep the name to 80 characters or fewer.")
    static let slug = SlugRule(field: "slug", maxLength: 64,
                               message: "Use lowercase letters, digits and hyphens in the slug, up to 64 characters.")
    static let parameters = ParameterCountRule(field: "parameters", range: 1_000_000...10_000_000_000_000,
                                               message: "Parameters must be a whole number from 1M to 10T, such as 354M, 1.2B or 350000000.")
    static let contextLength = IntegerRule(field: "context_length", range: 128...10_000_000,
                                           message: "Context length must be a whole number of tokens from 128 to 10,000,000.")
    static let card = TextRule(field: "card", maxScalars: 20_000, message: "Keep the card to 20,000 characters or fewer.")

    /// Slugs a model cannot take because a page of the catalogue already answers at
    /// `/models/{slug}`.
    static let reservedSlugs: Set<String> = ["new"]

    /// Control, format (bidirectional overrides, zero-width marks) and unassigned characters:
    /// they make a name that looks like another, or that breaks the line it is shown on.
    static func isHiddenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: true
        default: false
        }
    }
}

/// A slug's shape: lowercase ASCII letters, digits and hyphens, `1...maxLength` long.
struct SlugRule {
    var field: String
    var maxLength: Int
    var message: String

    func accepts(_ slug: String) -> Bool {
        !slug.isEmpty && slug.utf8.count <= maxLength && slug.utf8.allSatisfy(Self.isSlugByte)
    }

    func check(_ slug: String) throws {
        guard accepts(slug) else { throw InvalidInput(field: field, message: message) }
    }

    static func isSlugByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: "-")
    }
}

/// `IntegerRule` for a parameter count, which people write as `354M` or `1.2B` as often as
/// in digits (see `ParameterCount.parse`).
struct ParameterCountRule {
    var field: String
    var range: ClosedRange<Int64>
    var message: String
    /// "1M – 10T".
    var rangeText: String { "\(ParameterCount.text(range.lowerBound)) – \(ParameterCount.text(range.upperBound))" }

    /// The count typed into the field: nil when empty, `.failure` when it breaks the rule.
    func parse(_ text: String) -> Result<Int64, InvalidInput>? {
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        guard let value = ParameterCount.parse(text), range.contains(value) else {
            return .failure(InvalidInput(field: field, message: message))
        }
        return .success(value)
    }

    func check(_ value: Int64) throws {
        guard range.contains(value) else { throw InvalidInput(field: field, message: message) }
    }
}
