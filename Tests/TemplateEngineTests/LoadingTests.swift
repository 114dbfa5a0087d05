import Foundation
import Testing
@testable import TemplateEngine

@Suite struct LoadErrorTests {
    /// The error thrown when loading `sources`, or nil when they load.
    func loadError(_ sources: [String: String]) -> TemplateError? {
        do {
            _ = try TemplateLibrary(templates: sources)
            return nil
        } catch let error as TemplateError {
            return error
        } catch {
            return nil
        }
    }

    @Test func unclosedSectionPointsAtItsOpeningTag() throws {
        let error = try #require(loadError(["page": "line one\n  {{#rows}}\n<tr>\n"]))
        #expect(error.template == "page")
        #expect(error.line == 2)
        #expect(error.column == 3)
        #expect(error.message.contains("unclosed section 'rows'"))
    }

    @Test func mismatchedClosingTag() throws {
        let error = try #require(loadError(["page": "{{#a}}\n{{#b}}\n{{/a}}\n{{/b}}"]))
        #expect(error.line == 3)
        #expect(error.column == 1)
        #expect(error.message.contains("'a' does not match open section 'b'"))
    }

    @Test func closingTagWithoutSection() throws {
        let error = try #require(loadError(["page": "ok\nok {{/a}}"]))
        #expect(error.line == 2)
        #expect(error.column == 4)
    }

    @Test func unknownPartial() throws {
        let error = try #require(loadError(["page": "<ul>\n\n  {{> partials/missing}}\n</ul>"]))
        #expect(error.line == 3)
        #expect(error.column == 3)
        #expect(error.message.contains("unknown partial 'partials/missing'"))
    }

    @Test func unknownParent() throws {
        let error = try #require(loadError(["page": "{{<nolayout}}\n{{/nolayout}}"]))
        #expect(error.line == 1)
        #expect(error.message.contains("unknown parent 'nolayout'"))
    }

    @Test func unclosedParentAndBlock() throws {
        let parent = try #require(loadError(["layout": "x", "page": "{{<layout}}\n{{$content}}{{/content}}\n"]))
        #expect(parent.line == 1)
        #expect(parent.message.contains("unclosed section 'layout'"))
        let block = try #require(loadError(["page": "a\nb {{$content}}\n"]))
        #expect(block.line == 2)
        #expect(block.column == 3)
    }

    @Test func unterminatedTag() throws {
        let error = try #require(loadError(["page": "<p>\n<b>{{name</b>\n"]))
        #expect(error.line == 2)
        #expect(error.column == 4)
        #expect(error.message.contains("unterminated tag"))
        let triple = try #require(loadError(["page": "{{{raw}}"]))
        #expect(triple.line == 1)
        #expect(triple.message.contains("unterminated tag"))
    }

    @Test func emptyAndInvalidNames() throws {
        #expect(loadError(["page": "x\n{{ }}"])?.line == 2)
        #expect(loadError(["page": "{{a b}}"])?.message.contains("invalid name") == true)
        #expect(loadError(["page": "{{a..b}}"])?.message.contains("invalid name") == true)
    }

    @Test func errorDescriptionNamesTemplateLineAndColumn() throws {
        let error = try #require(loadError(["deployments/index": "\n\n   {{#x}}"]))
        #expect(error.description == "deployments/index:3:4: unclosed section 'x'")
    }

    @Test func unknownTemplateAtRenderThrows() throws {
        let library = try TemplateLibrary(templates: ["a": "x"])
        #expect(throws: TemplateError.self) { try library.render("b", [:]) }
        #expect(library.contains("a"))
        #expect(!library.contains("b"))
    }
}

@Suite struct DirectoryLoadingTests {
    @Test func loadsNestedFoldersWithRelativeNames() throws {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("templates-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let files = [
            "layout.mustache": "<main>{{$content}}{{/content}}</main>",
            "partials/flash.mustache": "{{#flash}}<p class=\"flash\">{{.}}</p>{{/flash}}",
            "deployments/index.mustache": "{{<layout}}{{$content}}{{> partials/flash}}<h1>{{title}}</h1>{{/content}}{{/layout}}",
            "deployments/rows/empty.mustache": "none",
            "README.txt": "not a template",
        ]
        for (path, text) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }

        let library = try TemplateLibrary(directory: root.path)
        #expect(library.names == ["deployments/index", "deployments/rows/empty", "layout", "partials/flash"])
        let html = try library.render("deployments/index", ["flash": "Saved & done", "title": "Deployments"])
        #expect(html == "<main><p class=\"flash\">Saved &amp; done</p><h1>Deployments</h1></main>")
    }

    @Test func brokenTemplateInDirectoryFailsTheLoad() throws {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("templates-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("jobs"), withIntermediateDirectories: true)
        try "ok\n{{> partials/gone}}".write(to: root.appendingPathComponent("jobs/show.mustache"), atomically: true, encoding: .utf8)
        #expect {
            _ = try TemplateLibrary(directory: root.path)
        } throws: { error in
            guard let error = error as? TemplateError else { return false }
            return error.template == "jobs/show" && error.line == 2
        }
    }

    @Test func missingDirectoryThrows() {
        #expect(throws: TemplateError.self) {
            _ = try TemplateLibrary(directory: "/nonexistent/\(UUID().uuidString)")
        }
    }
}
