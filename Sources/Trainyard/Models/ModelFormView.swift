import TemplateEngine

/// What a model form shows: the saved values (a blank form, or the model being edited), or
/// after a refusal exactly what the user typed.
struct ModelFormValues {
    var values: [String: String]
    /// Fields whose typed text came back without it: the flash cookie holds about 3.8 KB, so a
    /// long card is dropped from it. They show the saved value instead, and say so, so an edit
    /// can never save an emptied card by accident.
    var dropped: Set<String> = []

    init(_ ctx: WebContext, saved: [String: String]) {
        values = saved
        // A refused form always sends every field, so a field missing from its values was dropped.
        guard let flash = ctx.flash, !flash.values.isEmpty else { return }
        for field in ModelForm.fields {
            if let typed = flash.values[field] { values[field] = typed } else { dropped.insert(field) }
        }
    }
}

/// `GET /models/new` and `GET /models/{slug}/edit`: one form for adding and editing.
struct ModelFormView: PageView {
    static let template = "models/form"
    var title: String { editing.map { "Edit \($0.name)" } ?? "Add a model" }
    let section: NavSection? = .models

    /// The model being edited; nil on the Add form.
    var editing: CatalogueModel?
    var fields: [String: FormField]

    init(editing: CatalogueModel?, shown: ModelFormValues, _ ctx: WebContext) {
        self.editing = editing
        let extra: [String: [String: TemplateValue]] = [
            "name": ["maxlength": .int(ModelRules.name.maxScalars)],
            "slug": ["maxlength": .int(ModelRules.slug.maxLength)],
            "context_length": ModelRules.contextLength.attributes,
            "card": ["maxlength": .int(ModelRules.card.maxScalars)],
        ]
        let droppedNote = editing == nil ? "What you typed here was too long to bring back after the error; please enter it again."
                                         : "Your change here was too long to bring back after the error; the saved value is shown."
        var fields: [String: FormField] = [:]
        for name in ModelForm.fields {
            let error = ctx.fieldError(name) ?? (shown.dropped.contains(name) ? droppedNote : nil)
            fields[name] = FormField(name, prefix: "model", value: shown.values[name] ?? "", error: error, extra: extra[name] ?? [:])
        }
        self.fields = fields
    }

    func members() -> [String: TemplateValue] {
        [
            "heading": .string(title),
            "action": .string(editing.map { Paths.model($0.slug) } ?? Paths.models),
            "submitLabel": .string(editing == nil ? "Add model" : "Save changes"),
            "cancelHref": .string(editing.map { Paths.model($0.slug) } ?? Paths.models),
            "modelsHref": .string(Paths.models),
            "editing": editing.map { ["name": .string($0.name), "href": .string(Paths.model($0.slug))] } ?? .null,
            "parameterRange": .string(ModelRules.parameters.rangeText),
            "contextRange": .string(ModelRules.contextLength.rangeText),
            "cardLimit": .string(Format.grouped(ModelRules.card.maxScalars)),
            "name": fields["name"].templateValue, "slug": fields["slug"].templateValue,
            "parameters": fields["parameters"].templateValue, "contextLength": fields["context_length"].templateValue,
            "card": fields["card"].templateValue,
        ]
    }
}
