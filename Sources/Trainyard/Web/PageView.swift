import TemplateEngine

/// A page's view model: a struct with a member per thing the page shows, turned into the
/// template's values in one place (`members`). The template it renders is part of the type,
/// so `TrainyardApp` can check at boot that every page's template exists.
protocol PageView {
    static var template: String { get }
    var title: String { get }
    var section: NavSection? { get }
    /// The values `template` reads, besides the layout's own (title, nav, flash, CSRF token).
    func members() -> [String: TemplateValue]
}

/// A view model for a part of a page (a table row, a card): its template values in one place.
protocol TemplateConvertible {
    var templateValue: TemplateValue { get }
    /// The names every value of the type has, in order, when it is a table's row: a list of
    /// them is then one `.rows`, its values end to end, instead of a record (an array) each.
    static var rowKeys: TemplateKeys? { get }
    /// Appends this row's values in `rowKeys`' order (only for types that have `rowKeys`).
    func appendRowValues(to values: inout [TemplateValue])
}

extension TemplateConvertible {
    static var rowKeys: TemplateKeys? { nil }
    func appendRowValues(to values: inout [TemplateValue]) { values.append(templateValue) }
}

extension Array where Element: TemplateConvertible {
    var templateValue: TemplateValue {
        guard let keys = Element.rowKeys else { return .list(map(\.templateValue)) }
        var values: [TemplateValue] = []
        values.reserveCapacity(count * keys.names.count)
        for element in self { element.appendRowValues(to: &values) }
        return .rows(keys, values)
    }
}

extension Optional where Wrapped: TemplateConvertible {
    var templateValue: TemplateValue { self?.templateValue ?? .null }
}

/// A button in a row or on a page: a form POST to `action`, or a plain link.
struct ActionButton: TemplateConvertible {
    enum Style { case normal, primary, danger }

    var label: String
    var action: String?
    var link: String?
    var style: Style = .normal
    /// Hidden `job_id` for the one-click Deploy button.
    var jobID: Int?

    static func post(_ label: String, to action: String, style: Style = .normal, jobID: Int? = nil) -> ActionButton {
        ActionButton(label: label, action: action, link: nil, style: style, jobID: jobID)
    }

    static func link(_ label: String, to href: String) -> ActionButton {
        ActionButton(label: label, action: nil, link: href)
    }

    var templateValue: TemplateValue {
        ["label": .string(label), "action": .optional(action), "link": .optional(link),
         "primary": .bool(style == .primary), "danger": .bool(style == .danger), "jobID": .optional(jobID.map(String.init))]
    }
}

/// One input of a form: its value (as typed, after a refusal), id, and the error tied to it.
struct FormField: TemplateConvertible {
    var id: String
    var value: String
    var error: String?
    var extra: [String: TemplateValue] = [:]

    /// The field `name` of a form whose inputs are ids `prefix-name`, refilled from `ctx`'s flash.
    /// What an `<input type="number">` may show: the value if it is a number, else nothing (a
    /// browser never submits anything else from one; a script's text stays out of the HTML, and
    /// the field's message says what was wrong).
    static func numberValue(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        return trimmed.utf8.count <= 32 && Double(trimmed).map { $0.isFinite } == true
            && trimmed.unicodeScalars.allSatisfy({ "0123456789.-+eE".unicodeScalars.contains($0) }) ? trimmed : ""
    }

    init(_ name: String, prefix: String, value: String, _ ctx: WebContext, extra: [String: TemplateValue] = [:]) {
        id = "\(prefix)-\(name)"
        self.value = value
        error = ctx.fieldError(name)
        self.extra = extra
    }

    init(_ name: String, prefix: String, value: String, error: String?, extra: [String: TemplateValue] = [:]) {
        id = "\(prefix)-\(name)"
        self.value = value
        self.error = error
        self.extra = extra
    }

    var templateValue: TemplateValue {
        var members = extra
        members["value"] = .string(value)
        members["id"] = .string(id)
        if let error {
            members["error"] = .string(error)
            members["errorID"] = .string(id + "-error")
        }
        return .object(members)
    }
}

extension WebContext {
    /// The values to show in a form: `defaults`, or, after a refused submission, exactly what
    /// the user typed (a field they cleared stays empty).
    func formValues(_ fields: [String], defaults: [String: String]) -> [String: String] {
        // A refusal of another form on the same page carries other fields: keep the defaults.
        guard let flash, fields.contains(where: { flash.values[$0] != nil }) else { return defaults }
        var typed = defaults
        for field in fields { typed[field] = flash.values[field] ?? "" }
        return typed
    }

    /// Where an action returns to: the page it was posted from (a same-site path), else `fallback`.
    func returnPath(fallback: String) -> String {
        SafeRedirect.path(request.formParameters["return_to"], fallback: fallback)
    }
}
