import Testing
@testable import Trainyard

@Suite struct ParameterCountTests {
    @Test(arguments: [
        ("350000000", Int64(350_000_000)), ("354M", 354_000_000), ("354m", 354_000_000), ("1.2B", 1_200_000_000),
        ("1.17b", 1_170_000_000), ("8B", 8_000_000_000), (" 8 B ", 8_000_000_000), ("0.5B", 500_000_000),
        ("1500K", 1_500_000), ("1.5T", 1_500_000_000_000), ("10T", 10_000_000_000_000), ("000001M", 1_000_000),
    ])
    func friendlyFormsParse(text: String, count: Int64) {
        #expect(ParameterCount.parse(text) == count, "\(text)")
    }

    @Test(arguments: ["", "B", "1.B", ".5B", "1,2B", "1e9", "-1M", "+1M", "1.2X", "1.2BB", "1 . 2B", "١٢B",
                      "1.2345678901B", "99999999999999999999", "9999999999T", "350000000.5"])
    func anythingElseIsRefused(text: String) {
        #expect(ParameterCount.parse(text) == nil, "\(text)")
    }

    @Test func theShortestExactTextSavesTheSameCountBack() {
        #expect(ParameterCount.text(354_000_000) == "354M")
        #expect(ParameterCount.text(1_170_000_000) == "1.17B")
        #expect(ParameterCount.text(1_050_000_000) == "1.05B")
        #expect(ParameterCount.text(8_030_000_000) == "8.03B")
        #expect(ParameterCount.text(123_456_789) == "123456789")
        #expect(ParameterCount.text(999) == "999")
        for count: Int64 in [1, 999, 1_000, 1_000_001, 123_456_789, 494_000_000, 7_240_000_000, 10_000_000_000_000, 9_876_543_210_123] {
            #expect(ParameterCount.parse(ParameterCount.text(count)) == count, "\(count)")
        }
    }
}

@Suite struct ModelSlugTests {
    @Test(arguments: [
        ("LFM2 1.2B", "lfm2-1-2b"), ("Qwen2.5 0.5B", "qwen2-5-0-5b"), ("  Phi-3 Mini  ", "phi-3-mini"),
        ("Modèle Français", "modele-francais"), ("a__b--c", "a-b-c"), ("日本語", ""), ("日本語 7B", "7b"), ("!!!", ""),
    ])
    func slugsAreMadeFromNames(name: String, slug: String) {
        #expect(ModelSlug.derive(from: name) == slug)
    }

    @Test func aLongNameGivesASlugWithinTheLimitAndNoTrailingHyphen() {
        let slug = ModelSlug.derive(from: String(repeating: "a", count: 63) + " b")
        #expect(slug == String(repeating: "a", count: 63))
        #expect(ModelRules.slug.accepts(ModelSlug.derive(from: String(repeating: "word ", count: 40))))
    }
}

@Suite struct ModelFormTests {
    static let valid = ["name": "LFM 1B", "slug": "", "parameters": "1.2B", "context_length": "4096", "card": "# LFM"]

    func result(_ changes: [String: String], taken: Set<String> = []) -> Result<ModelStore.NewModel, FieldErrors> {
        ModelForm(values: Self.valid.merging(changes) { _, new in new }).validate { taken.contains($0) }
    }

    func errors(_ changes: [String: String], taken: Set<String> = []) -> [String: String] {
        if case .failure(let e) = result(changes, taken: taken) { return e.byField }
        return [:]
    }

    @Test func aValidFormGivesTheModelWithASlugMadeFromTheName() throws {
        let model = try result([:]).get()
        #expect(model == ModelStore.NewModel(slug: "lfm-1b", name: "LFM 1B", parameters: 1_200_000_000, contextLength: 4096, card: "# LFM"))
        #expect(try result(["slug": "my-own"]).get().slug == "my-own")
        #expect(try result(["card": "\r\n# A\r\n\r\ntext\r\n"]).get().card == "# A\n\ntext")
    }

    @Test(arguments: [
        ("name", "", "Enter a name for the model."),
        ("name", "   ", "Enter a name for the model."),
        ("name", String(repeating: "n", count: 81), ModelRules.name.message),
        ("name", "evil\u{202E}name", "Use letters, numbers, spaces and punctuation in the name; no control or invisible characters."),
        ("name", "a\u{0}b", "Use letters, numbers, spaces and punctuation in the name; no control or invisible characters."),
        ("slug", "Upper", ModelRules.slug.message),
        ("slug", "has space", ModelRules.slug.message),
        ("slug", "ünï", ModelRules.slug.message),
        ("slug", String(repeating: "s", count: 65), ModelRules.slug.message),
        ("slug", "new", "The slug 'new' is the address of a catalogue page; choose another."),
        ("parameters", "", "Enter the parameter count, such as 354M, 1.2B or 350000000."),
        ("parameters", "999999", ModelRules.parameters.message),
        ("parameters", "10.5T", ModelRules.parameters.message),
        ("parameters", "lots", ModelRules.parameters.message),
        ("context_length", "", "Enter the context length in tokens, such as 4096."),
        ("context_length", "127", ModelRules.contextLength.message),
        ("context_length", "10000001", ModelRules.contextLength.message),
        ("context_length", "4k", ModelRules.contextLength.message),
        ("card", String(repeating: "c", count: 20_001), ModelRules.card.message),
    ])
    func eachFieldHasItsMessage(field: String, value: String, message: String) {
        #expect(errors([field: value]) == [field: message], "\(field)=\(value.prefix(20))")
    }

    @Test func theLimitsThemselvesAreAccepted() {
        #expect(errors(["name": String(repeating: "n", count: 80), "slug": String(repeating: "s", count: 64), "parameters": "1M",
                        "context_length": "128", "card": String(repeating: "c", count: 20_000)]).isEmpty)
        #expect(errors(["parameters": "10T", "context_length": "10000000"]).isEmpty)
    }

    @Test func aTakenSlugIsNamedWhetherTypedOrMadeFromTheName() {
        #expect(errors([:], taken: ["lfm-1b"]) == ["slug": "A model with the slug 'lfm-1b' already exists."])
        #expect(errors(["slug": "other"], taken: ["other"]) == ["slug": "A model with the slug 'other' already exists."])
        #expect(ModelForm.isSlugTakenMessage(ModelForm.slugTakenMessage("x")))
    }

    @Test func aNameWithNothingToMakeASlugFromAsksForOne() {
        #expect(errors(["name": "日本語"]) == ["slug": "Enter a slug: the name has no letters or digits to make one from."])
        #expect(errors(["name": "日本語", "slug": "nihongo"]).isEmpty)
    }

    @Test func cardsCountScalarsAndLineBreaksAsTheBrowserDoes() {
        // 10,000 CRLF line breaks are 10,000 characters in the browser's maxlength, not 20,000.
        #expect(errors(["card": "x" + String(repeating: "\r\n", count: 10_000) + "y"]).isEmpty)
        #expect(errors(["card": "a" + String(repeating: "\u{0301}", count: 20_000)]) == ["card": ModelRules.card.message])
    }

    @Test func savedValuesValidateBackToTheSameModel() throws {
        let saved = CatalogueModel(id: 1, slug: "lfm2-1-2b", name: "LFM2 1.2B", parameters: 1_170_000_000, sizeClass: .small,
                                   contextLength: 32_768, card: "# LFM2")
        let model = try ModelForm(values: ModelForm.values(of: saved)).validate { _ in false }.get()
        #expect(model == ModelStore.NewModel(slug: saved.slug, name: saved.name, parameters: saved.parameters,
                                             contextLength: saved.contextLength, card: saved.card))
    }
}
