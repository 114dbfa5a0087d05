import TemplateEngine

/// The limits of one numeric form field and the words for breaking them, defined once.
///
/// The form validates with it, the store refuses with it (`check`, a typed error), templates
/// write `min`/`max` attributes from it and the docs quote `rangeText` (`{{rule.replicas}}` in
/// `Docs/*.md`), so a limit cannot drift between the four.
struct IntegerRule {
    var field: String
    var range: ClosedRange<Int>
    /// Shown next to the field and in the flash: "Replicas must be a whole number from 1 to 100."
    var message: String
    /// "1 – 100", "512 – 65,536": as the docs write ranges.
    var rangeText: String { "\(Format.grouped(range.lowerBound)) – \(Format.grouped(range.upperBound))" }

    /// The value typed into the field: nil when empty, `.failure` when it breaks the rule.
    func parse(_ text: String) -> Result<Int, InvalidInput>? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        guard trimmed.utf8.count <= 12, let value = Int(trimmed), range.contains(value) else {
            return .failure(InvalidInput(field: field, message: message))
        }
        return .success(value)
    }

    func check(_ value: Int) throws {
        guard range.contains(value) else { throw InvalidInput(field: field, message: message) }
    }

    /// `{min, max}` for the template's input attributes.
    var attributes: [String: TemplateValue] { ["min": .int(range.lowerBound), "max": .int(range.upperBound)] }
}

/// `IntegerRule` for a number with a fraction (CPU cores, learning rates).
struct DecimalRule {
    var field: String
    var range: ClosedRange<Double>
    /// The lower bound is excluded (a learning rate must be above 0).
    var excludesLowerBound = false
    var message: String
    var rangeText: String { "\(Format.compact(range.lowerBound)) – \(Format.compact(range.upperBound))" }

    func parse(_ text: String) -> Result<Double, InvalidInput>? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        guard trimmed.utf8.count <= 32, Self.isDecimal(trimmed), let value = Double(trimmed), accepts(value) else {
            return .failure(InvalidInput(field: field, message: message))
        }
        return .success(value)
    }

    /// Plain decimal notation only: `12`, `-0.5`, `.5`, `3e-4`. `Double.init` also takes hex
    /// (`0x10`), `inf`, `nan`, and stops at a NUL, none of which a person means by a number.
    static func isDecimal(_ text: String) -> Bool {
        var bytes = text.utf8[...]
        if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        let whole = bytes.prefix(while: isDigit)
        bytes = bytes.dropFirst(whole.count)
        var fraction = 0
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            fraction = bytes.prefix(while: isDigit).count
            bytes = bytes.dropFirst(fraction)
        }
        guard whole.count + fraction > 0 else { return false }
        if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
            let exponent = bytes.prefix(while: isDigit).count
            guard exponent > 0 else { return false }
            bytes = bytes.dropFirst(exponent)
        }
        return bytes.isEmpty
    }

    func accepts(_ value: Double) -> Bool {
        value.isFinite && range.contains(value) && !(excludesLowerBound && value == range.lowerBound)
    }

    func check(_ value: Double) throws {
        guard accepts(value) else { throw InvalidInput(field: field, message: message) }
    }

    var attributes: [String: TemplateValue] { ["min": .string(Format.compact(range.lowerBound)), "max": .string(Format.compact(range.upperBound))] }
}

/// A text field's length limit, counted in Unicode scalars, as a database or a browser's
/// `maxlength` would (a grapheme count lets one "character" carry any number of combining marks).
struct TextRule {
    var field: String
    var maxScalars: Int
    var message: String

    func accepts(_ text: String) -> Bool { text.unicodeScalars.count <= maxScalars }

    func check(_ text: String) throws {
        guard accepts(text) else { throw InvalidInput(field: field, message: message) }
    }
}
