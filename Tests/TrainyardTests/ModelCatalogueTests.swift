import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

extension Fixtures {
    /// The stored fields of the model with `slug`, or nil: what an edit may or may not change.
    static func modelRow(_ db: Database, _ slug: String) throws -> String? {
        try db.queryOne("SELECT name, parameters, size_class, context_length, card FROM models WHERE slug = $1", [.text(slug)]).map {
            "\(try $0.string("name"))|\(try $0.int("parameters"))|\(try $0.string("size_class"))|\(try $0.int("context_length"))|\(try $0.string("card"))"
        }
    }

    static func auditDetails(_ db: Database, _ action: String) throws -> [String] {
        try db.query("SELECT actor, target_id, details FROM audit_log WHERE action = $1 ORDER BY id", [.text(action)]).map {
            "\(try $0.string("actor")) \(try $0.string("target_id")): \(try $0.string("details"))"
        }
    }
}

/// The form fields of a valid model, with `changes` applied.
private func modelFields(_ changes: [String: String] = [:]) -> [(String, String)] {
    let valid = ["name": "LFM 1B", "slug": "", "parameters": "1.2B", "context_length": "4096", "card": "# LFM 1B\n\nA **small** model."]
    return valid.merging(changes) { _, new in new }.sorted { $0.key < $1.key }
}

/// The text of the flash on a page, or "".
private func flash(_ html: String) -> String {
    guard let start = html.range(of: "<div class=\"flash "), let p = html.range(of: "<p>", range: start.upperBound..<html.endIndex),
          let end = html.range(of: "</p>", range: p.upperBound..<html.endIndex) else { return "" }
    return String(html[p.upperBound..<end.lowerBound])
}

/// Adding models through the form, over a real socket, on both databases.
@Suite struct ModelCreateFormTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func addingAModelLandsOnItsPageWithTheFlashTheDerivedSlugAndAnAuditRow(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let browser = try running.browser(as: .operator)
        let form = try browser.get("/models/new")
        #expect(form.status == 200)
        #expect(form.body.contains("action=\"/models\""))
        #expect(form.body.contains("354M, 1.2B or 8B"), "the hint shows the friendly forms")

        let created = try browser.post("/models", modelFields())
        #expect(created.status == 303)
        #expect(created.header("Location") == "/models/lfm-1b")
        let page = try browser.get("/models/lfm-1b")
        #expect(page.status == 200)
        #expect(flash(page.body) == "Model added")
        #expect(page.body.contains("<h1>LFM 1B</h1>"))
        #expect(page.body.contains("1.2B parameters · Small · 4096 tokens"))
        #expect(page.body.contains("<strong>small</strong>"), "the card is rendered as Markdown")
        #expect(!(try browser.get("/models/lfm-1b").body.contains("Model added")), "the flash shows once")

        #expect(try Fixtures.modelRow(running.database, "lfm-1b") == "LFM 1B|1200000000|small|4096|# LFM 1B\n\nA **small** model.")
        #expect(try Fixtures.auditDetails(running.database, "model.create") == ["test-operator lfm-1b: LFM 1B: 1.2B parameters, context 4096"])
        // Listed in the catalogue and offered for training.
        #expect(try browser.get("/models").body.contains("href=\"/models/lfm-1b\">LFM 1B</a>"))
        #expect(try browser.get("/training/configure").body.contains("<option value=\"lfm-1b\">LFM 1B · 1.2B · Small</option>"))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func parameterCountsInFriendlyFormsSetTheSizeClass(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let browser = try running.browser()
        try browser.get("/models/new")
        let cases: [(String, Int64, String)] = [("354M", 354_000_000, "nano"), ("350000000", 350_000_000, "nano"), ("1.2B", 1_200_000_000, "small"),
                                                ("6.99b", 6_990_000_000, "small"), ("8B", 8_000_000_000, "large"), ("1.5 T", 1_500_000_000_000, "large")]
        for (index, (typed, count, size)) in cases.enumerated() {
            let response = try browser.post("/models", modelFields(["name": "Model \(index)", "parameters": typed]))
            #expect(response.header("Location") == "/models/model-\(index)", "\(typed)")
            let row = try #require(try running.database.queryOne("SELECT parameters, size_class FROM models WHERE slug = $1", [.text("model-\(index)")]))
            #expect(try row.int("parameters") == Int(count), "\(typed)")
            #expect(try row.string("size_class") == size, "\(typed)")
        }
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func everyRefusedFieldComesBackAsTypedWithItsMessageAndNothingIsWritten(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let browser = try running.browser()
        try browser.get("/models/new")
        let before = try Fixtures.fingerprint(running.database)

        // Everything wrong at once: each field keeps its text and names its own problem.
        let refused = try browser.post("/models", [("name", ""), ("slug", "Bad <Slug>"), ("parameters", "lots"),
                                                   ("context_length", "12"), ("card", "keep <me>")])
        #expect(refused.status == 303)
        #expect(refused.header("Location") == "/models/new")
        let form = try browser.get("/models/new").body
        #expect(flash(form) == "Please fix the 4 highlighted fields.")
        #expect(form.contains("value=\"Bad &lt;Slug&gt;\""))
        #expect(form.contains("value=\"lots\""))
        #expect(form.contains("value=\"12\""))
        #expect(form.contains(">keep &lt;me&gt;</textarea>"))
        #expect(form.contains("aria-describedby=\"model-parameters-hint model-parameters-error\" aria-invalid=\"true\""))
        for message in ["Enter a name for the model.", ModelRules.slug.message, ModelRules.parameters.message, ModelRules.contextLength.message] {
            #expect(form.contains(message), "\(message)")
        }

        let cases: [(String, String, String)] = [
            ("name", "", "Enter a name for the model."),
            ("name", String(repeating: "n", count: 81), ModelRules.name.message),
            ("name", "evil\u{202E}name", "no control or invisible characters"),
            ("name", "日本語", "Enter a slug: the name has no letters or digits to make one from."),
            ("slug", "UPPER", ModelRules.slug.message),
            ("slug", String(repeating: "s", count: 65), ModelRules.slug.message),
            ("slug", "new", "The slug &#39;new&#39; is the address of a catalogue page"),
            ("parameters", "", "Enter the parameter count, such as 354M, 1.2B or 350000000."),
            ("parameters", "999999", ModelRules.parameters.message),
            ("parameters", "11T", ModelRules.parameters.message),
            ("parameters", "1,2B", ModelRules.parameters.message),
            ("context_length", "", "Enter the context length in tokens, such as 4096."),
            ("context_length", "127", ModelRules.contextLength.message),
            ("context_length", "10000001", ModelRules.contextLength.message),
            ("context_length", "4k", ModelRules.contextLength.message),
            ("card", String(repeating: "c", count: 20_001), ModelRules.card.message),
        ]
        for (field, value, message) in cases {
            let response = try browser.post("/models", modelFields([field: value]))
            #expect(response.header("Location") == "/models/new", "\(field)=\(value.prefix(20))")
            let page = try browser.get("/models/new").body
            #expect(page.contains(message), "\(field)=\(value.prefix(20))")
            #expect(page.contains("id=\"model-\(field == "name" && value == "日本語" ? "slug" : field)-error\""), "\(field)=\(value.prefix(20))")
            #expect(page.contains("value=\"LFM 1B\"") || field == "name", "the other fields keep what was typed")
        }
        #expect(try Fixtures.fingerprint(running.database) == before, "no model and no audit row")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aSlugAlreadyTakenIsRefusedWhetherTypedOrMadeFromTheName(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        try Fixtures.model(running.database, slug: "lfm-1b", name: "LFM One")
        let browser = try running.browser()
        try browser.get("/models/new")
        for fields in [modelFields(), modelFields(["name": "Another", "slug": "lfm-1b"])] {
            #expect(try browser.post("/models", fields).header("Location") == "/models/new")
            let page = try browser.get("/models/new").body
            #expect(flash(page) == "A model with the slug &#39;lfm-1b&#39; already exists.")
            #expect(page.contains("<p class=\"error\" id=\"model-slug-error\">A model with the slug &#39;lfm-1b&#39; already exists.</p>"))
        }
        #expect(try Fixtures.count(running.database, "models") == 1)
        #expect(try Fixtures.modelRow(running.database, "lfm-1b")?.hasPrefix("LFM One|") == true)
        // A different slug for the same name is fine.
        #expect(try browser.post("/models", modelFields(["slug": "lfm-1b-2"])).header("Location") == "/models/lfm-1b-2")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func emptyStatesLinkToTheFormAndTellViewersWhoCanAddOne(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let admin = try running.browser()
        let models = try admin.get("/models").body
        #expect(models.contains("The catalogue is empty."))
        #expect(models.contains("<a class=\"button button-primary\" href=\"/models/new\">Add a model</a>"))
        #expect(models.contains("trainyard seed-demo"), "the demo path is still offered")
        let configure = try admin.get("/training/configure").body
        #expect(configure.contains("There are no models to train yet."))
        #expect(configure.contains("href=\"/models/new\""))

        let viewer = try running.browser(as: .viewer).get("/models").body
        #expect(viewer.contains("The catalogue is empty."))
        #expect(viewer.contains("An operator or admin can add one."))
        #expect(!viewer.contains("/models/new"))
    }
}

/// Who may change the catalogue, and the markup that keeps a card safe.
@Suite struct ModelAccessAndSafetyTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func viewersSeeNoCatalogueButtonsAndEveryChangeIsRefusedWith403(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        try Fixtures.model(running.database)
        let viewer = try running.browser(as: .viewer)
        for path in ["/models", "/models/test-model"] {
            let page = try viewer.get(path).body
            for hidden in ["/models/new", "/models/test-model/edit", "/models/test-model/delete", ">Edit<", ">Delete<", "Add a model"] {
                #expect(!page.contains(hidden), "\(path) shows \(hidden) to a viewer")
            }
        }
        #expect(try viewer.get("/models/new").status == 403)
        #expect(try viewer.get("/models/test-model/edit").status == 403)
        let before = try Fixtures.fingerprint(running.database)
        let row = try Fixtures.modelRow(running.database, "test-model")
        try viewer.get("/models")
        for path in ["/models", "/models/test-model", "/models/test-model/delete"] {
            let response = try viewer.post(path, modelFields(["name": "Viewer was here"]))
            #expect(response.status == 403, "\(path)")
            #expect(response.body.contains("This needs an operator role"), "\(path)")
        }
        #expect(try Fixtures.fingerprint(running.database) == before)
        #expect(try Fixtures.modelRow(running.database, "test-model") == row)

        // Operators see every button.
        let operatorPage = try running.browser(as: .operator).get("/models").body
        for shown in ["href=\"/models/new\"", "href=\"/models/test-model/edit\" aria-label=\"Edit Test Model\"",
                      "action=\"/models/test-model/delete\"", "aria-label=\"Delete Test Model\""] {
            #expect(operatorPage.contains(shown), "\(shown)")
        }
        let show = try running.browser(as: .operator).get("/models/test-model").body
        #expect(show.contains("href=\"/models/test-model/edit\">Edit</a>") && show.contains("action=\"/models/test-model/delete\""))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func markupInTheCardOrTheNameNeverReachesAPageRaw(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let browser = try running.browser()
        try browser.get("/models/new")
        let card = """
            # Card

            <script>alert('card')</script>

            <img src=x onerror="alert('img')">

            [a link](javascript:alert('link')) and <a href="/x" onclick="alert('a')">raw</a>
            """
        let response = try browser.post("/models", modelFields(["name": "<script>alert('name')</script>", "slug": "xss", "card": card]))
        #expect(response.header("Location") == "/models/xss")
        for path in ["/models/xss", "/models", "/models/xss/edit", "/training/configure"] {
            let page = try browser.get(path)
            #expect(page.status == 200, "\(path)")
            for raw in ["<script>alert", "<img src=x", "onerror=\"alert", "onclick=\"alert", "href=\"javascript:"] {
                #expect(!page.body.contains(raw), "\(path) carries \(raw) raw")
            }
        }
        let show = try browser.get("/models/xss").body
        #expect(show.contains("<h1 id=\"card\">Card</h1>"), "the Markdown around it still renders")
        #expect(show.contains("raw HTML omitted"))
        #expect(show.contains("&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;"))
        #expect(try browser.get("/models/xss/edit").body.contains("&lt;script&gt;alert(&#39;card&#39;)&lt;/script&gt;"),
                "the card is edited as text")
    }
}

/// Editing and deleting models through the pages.
@Suite struct ModelEditAndDeleteTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func editingSavesEveryFieldAndANewSlugMovesTheModel(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let model = try Fixtures.model(db, slug: "lfm-1b", name: "LFM 1B", parameters: 1_170_000_000)
        let deployment = try Fixtures.deployment(db, jobID: try Fixtures.completeJob(db, modelID: model))
        let endpoint = try db.queryOne("SELECT endpoint FROM deployments")!.string("endpoint")
        let browser = try running.browser(as: .operator)

        let form = try browser.get("/models/lfm-1b/edit")
        #expect(form.status == 200)
        #expect(form.body.contains("<h1>Edit LFM 1B</h1>"))
        #expect(form.body.contains("action=\"/models/lfm-1b\""))
        #expect(form.body.contains("value=\"1.17B\""), "prefilled exactly, so saving it unchanged changes nothing")

        let unchanged = try browser.post("/models/lfm-1b", [("name", "LFM 1B"), ("slug", "lfm-1b"), ("parameters", "1.17B"),
                                                           ("context_length", "4096"), ("card", "# Test model")])
        #expect(unchanged.header("Location") == "/models/lfm-1b")
        #expect(flash(try browser.get("/models/lfm-1b").body) == "Nothing to save: LFM 1B is unchanged.")
        #expect(try Fixtures.auditDetails(db, "model.update").isEmpty)

        let saved = try browser.post("/models/lfm-1b", [("name", "LFM 8B"), ("slug", "lfm-8b"), ("parameters", "8B"),
                                                       ("context_length", "32768"), ("card", "# Bigger")])
        #expect(saved.status == 303)
        #expect(saved.header("Location") == "/models/lfm-8b")
        let page = try browser.get("/models/lfm-8b").body
        #expect(flash(page) == "Model updated")
        #expect(page.contains("8B parameters · Large · 32768 tokens"))
        #expect(page.contains("<h1 id=\"bigger\">Bigger</h1>"))
        #expect(try browser.get("/models/lfm-1b").status == 404)
        #expect(try Fixtures.modelRow(db, "lfm-8b") == "LFM 8B|8000000000|large|32768|# Bigger")
        // The deployments table shows the new name; the endpoint clients call stays as deployed.
        #expect(try browser.get("/deployments").body.contains(">LFM 8B<"))
        #expect(try db.queryOne("SELECT model_name, endpoint FROM deployments WHERE id = $1", [.int(Int64(deployment))])!.string("endpoint") == endpoint)
        #expect(try Fixtures.auditDetails(db, "model.update")
                == ["test-operator lfm-8b: name LFM 1B → LFM 8B; slug lfm-1b → lfm-8b; parameters 1.17B → 8B; context 4096 → 32768; card edited"])

        // A refused edit goes back to the form as typed and changes nothing.
        try Fixtures.model(db, slug: "taken", name: "Taken")
        let before = try Fixtures.modelRow(db, "lfm-8b")
        for (field, value, message) in [("parameters", "", "Enter the parameter count"), ("slug", "taken", "A model with the slug &#39;taken&#39; already exists."),
                                        ("name", "", "Enter a name for the model.")] {
            var fields = ["name": "LFM 8B", "slug": "lfm-8b", "parameters": "8B", "context_length": "32768", "card": "# Bigger"]
            fields[field] = value
            let refused = try browser.post("/models/lfm-8b", fields.sorted { $0.key < $1.key })
            #expect(refused.header("Location") == "/models/lfm-8b/edit", "\(field)")
            let again = try browser.get("/models/lfm-8b/edit").body
            #expect(again.contains(message), "\(field)")
            #expect(again.contains("name=\"\(field)\" type=\"text\" value=\"\(value)\""), "\(field) keeps what was typed")
        }
        #expect(try Fixtures.modelRow(db, "lfm-8b") == before)
        #expect(try browser.post("/models/no-such-model", modelFields()).status == 404)
        #expect(try browser.get("/models/no-such-model/edit").status == 404)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aCardTooLongForTheFlashComesBackAsSavedNeverEmptied(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        try Fixtures.model(running.database)
        let browser = try running.browser()
        try browser.get("/models/test-model/edit")
        let longCard = String(repeating: "A long card line. ", count: 400)   // 7,200 characters: more than the flash cookie holds
        try browser.post("/models/test-model", modelFields(["name": "", "slug": "test-model", "card": longCard]))
        let edit = try browser.get("/models/test-model/edit").body
        #expect(edit.contains("Enter a name for the model."))
        #expect(edit.contains(">A long card line.") == false)
        #expect(edit.contains("># Test model</textarea>"), "the saved card, not an empty one that saving would store")
        #expect(edit.contains("Your change here was too long to bring back after the error; the saved value is shown."))

        try browser.get("/models/new")
        try browser.post("/models", modelFields(["name": "", "card": longCard]))
        let new = try browser.get("/models/new").body
        #expect(new.contains("What you typed here was too long to bring back after the error; please enter it again."))
        #expect(new.contains("aria-describedby=\"model-card-hint model-card-error\""))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func deletingIsRefusedWhileJobsOrDeploymentsUseTheModelAndAllowedWhenUnused(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let busy = try Fixtures.model(db, slug: "lfm-1b", name: "LFM 1B")
        try Fixtures.job(db, modelID: busy, name: "one")
        try Fixtures.job(db, modelID: busy, name: "two")
        _ = try Fixtures.deployment(db, jobID: try Fixtures.completeJob(db, modelID: busy))
        let single = try Fixtures.model(db, slug: "single", name: "Single")
        try Fixtures.job(db, modelID: single)
        try Fixtures.model(db, slug: "unused", name: "Unused")
        let browser = try running.browser(as: .operator)

        try browser.get("/models")
        let before = try Fixtures.fingerprint(db)
        let refused = try browser.post("/models/lfm-1b/delete", [("return_to", "/models")])
        #expect(refused.status == 303)
        #expect(refused.header("Location") == "/models")
        #expect(flash(try browser.get("/models").body) == "LFM 1B can&#39;t be deleted: 3 training jobs and 1 deployment use it.")
        try browser.post("/models/single/delete", [])
        #expect(flash(try browser.get("/models/single").body) == "Single can&#39;t be deleted: 1 training job uses it.")
        #expect(try Fixtures.fingerprint(db) == before, "nothing deleted, no audit row")

        let deleted = try browser.post("/models/unused/delete", [("return_to", "/models/unused")])
        #expect(deleted.header("Location") == "/models")
        let list = try browser.get("/models").body
        #expect(flash(list) == "Model Unused deleted.")
        #expect(!list.contains("/models/unused\""))
        #expect(try Fixtures.modelRow(db, "unused") == nil)
        #expect(try Fixtures.auditDetails(db, "model.delete") == ["test-operator unused: Unused"])
        #expect(try browser.post("/models/unused/delete", []).status == 404)
    }
}
