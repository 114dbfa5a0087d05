import Foundation
import Testing
import TrainyardTestSupport
@testable import Trainyard

/// The Markdown docs under `Docs/`: loading, ordering, lookups and the links between pages.
@Suite struct DocsLibraryTests {
    static let docsDirectory: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Docs").path

    static let library: Result<DocsLibrary, Error> = Result { try DocsLibrary(directory: docsDirectory) }

    func load() throws -> DocsLibrary { try Self.library.get() }

    @Test func loadsTheRealDocsWithTitlesAndSummaries() throws {
        let library = try load()
        #expect(library.pages.count >= 6)
        for page in library.pages {
            #expect(DocsLibrary.isValidSlug(page.slug), "slug \(page.slug)")
            #expect(!page.title.isEmpty, "\(page.slug) has no title")
            #expect(!page.summary.isEmpty, "\(page.slug) has no summary")
            #expect(!page.summary.contains("\n") && !page.summary.contains("<"), "\(page.slug) summary: \(page.summary)")
            #expect(page.headings.allSatisfy { $0.level == 2 || $0.level == 3 })
            #expect(!page.headings.isEmpty, "\(page.slug) has no table of contents")
            #expect(library.page(slug: page.slug) == page)
        }
        #expect(library.pages.first?.slug == "getting-started")
        #expect(Set(library.pages.map(\.slug)).count == library.pages.count)
    }

    @Test func previousAndNextFormOneChainInReadingOrder() throws {
        let pages = try load().pages
        #expect(pages.first?.previous == nil)
        #expect(pages.last?.next == nil)
        for (a, b) in zip(pages, pages.dropFirst()) {
            #expect(a.next == b.slug)
            #expect(b.previous == a.slug)
        }
    }

    /// Every `/docs/…` link names an existing page, and every `#anchor` an existing heading id
    /// on the page it points to.
    @Test func everyInternalLinkAndAnchorResolves() throws {
        let library = try load()
        var checked = 0
        for page in library.pages {
            for href in Self.hrefs(in: page.html) {
                var target = page
                var rest = Substring(href)
                if rest.hasPrefix("/docs/") {
                    rest = rest.dropFirst("/docs/".count)
                    let slug = rest.prefix { $0 != "#" }
                    guard let linked = library.page(slug: String(slug)) else {
                        Issue.record("\(page.slug): link to unknown page \(href)")
                        continue
                    }
                    target = linked
                    rest = rest.dropFirst(slug.count)
                } else if rest == "/docs" {
                    rest = ""
                } else if !rest.hasPrefix("#") {
                    continue   // links to the app's own pages and outside
                }
                checked += 1
                if rest.hasPrefix("#") {
                    let anchor = String(rest.dropFirst())
                    let ids = Self.ids(in: target.html)
                    #expect(ids.contains(anchor), "\(page.slug): \(href) names no heading on \(target.slug)")
                }
            }
        }
        #expect(checked > 10)
    }

    @Test func pagesLinkToEachOther() throws {
        let library = try load()
        let linked = Set(library.pages.flatMap { Self.hrefs(in: $0.html) }.filter { $0.hasPrefix("/docs/") }
            .map { String($0.dropFirst("/docs/".count).prefix { $0 != "#" }) })
        for page in library.pages.dropFirst() {
            #expect(linked.contains(page.slug), "no page links to \(page.slug)")
        }
    }

    @Test(arguments: ["../Package.swift", "..%2fREADME", "..%2FREADME", "%2e%2e%2fREADME", "NOPE", "", String(repeating: "a", count: 200),
                      "getting-started/", "/getting-started", "Getting-Started", "getting-started.md", "01-getting-started",
                      "getting-started\0", "getting started", "../../etc/passwd", ".", "..", "gettíng-started"])
    func unknownAndHostileSlugsFindNothing(_ slug: String) throws {
        #expect(try load().page(slug: slug) == nil)
    }

    @Test func slugShape() {
        #expect(DocsLibrary.isValidSlug("a"))
        #expect(DocsLibrary.isValidSlug("json-api"))
        #expect(DocsLibrary.isValidSlug(String(repeating: "a", count: 64)))
        #expect(!DocsLibrary.isValidSlug(String(repeating: "a", count: 65)))
        #expect(!DocsLibrary.isValidSlug("A"))
        #expect(!DocsLibrary.isValidSlug("a_b"))
        #expect(!DocsLibrary.isValidSlug("a.b"))
        #expect(!DocsLibrary.isValidSlug("a/b"))
    }

    @Test func fileNamesGiveOrderAndSlug() {
        #expect(DocsLibrary.parseFileName("01-getting-started.md")! == (1, "getting-started"))
        #expect(DocsLibrary.parseFileName("120-x.md")! == (120, "x"))
        #expect(DocsLibrary.parseFileName("getting-started.md") == nil)
        #expect(DocsLibrary.parseFileName("01-.md") == nil)
        #expect(DocsLibrary.parseFileName("01-Getting.md") == nil)
        #expect(DocsLibrary.parseFileName("01-a b.md") == nil)
        #expect(DocsLibrary.parseFileName("x1-a.md") == nil)
        #expect(DocsLibrary.parseFileName("01-a.markdown") == nil)
    }

    @Test func ordersByNumberAndBuildsSummaries() throws {
        let library = try DocsLibrary(files: [
            ("10-later.md", "# Later\n\nComes *after* the [first](/docs/first).\n\n## Part\n"),
            ("2-first.md", "# First &amp; foremost\n\n> A quote first.\n\n- a list\n\nThe summary\nspans `two <lines>` &amp; more.\n\n## One\n\n### Two\n\n#### Three\n"),
        ])
        #expect(library.pages.map(\.slug) == ["first", "later"])
        let first = try #require(library.page(slug: "first"))
        #expect(first.title == "First & foremost")
        #expect(first.summary == "The summary spans two <lines> & more.")
        #expect(first.headings.map(\.text) == ["One", "Two"])
        #expect(first.previous == nil && first.next == "later")
        let later = try #require(library.page(slug: "later"))
        #expect(later.summary == "Comes after the first.")
        #expect(later.previous == "first" && later.next == nil)
    }

    @Test func startUpRefusesWhatItCannotServe() throws {
        #expect(throws: DocsLibrary.LoadError.self) { try DocsLibrary(files: []) }
        #expect(throws: DocsLibrary.LoadError.self) { try DocsLibrary(files: [("notes.md", "# Notes\n\nText.\n")]) }
        #expect(throws: DocsLibrary.LoadError.self) { try DocsLibrary(files: [("01-a.md", "Text without a title.\n")]) }
        #expect(throws: DocsLibrary.LoadError.self) { try DocsLibrary(files: [("01-a.md", "# Title only\n\n## Section\n")]) }
        #expect(throws: DocsLibrary.LoadError.self) {
            try DocsLibrary(files: [("01-a.md", "# A\n\nText.\n"), ("02-a.md", "# A again\n\nText.\n")])
        }

        let missing = NSTemporaryDirectory() + "trainyard-docs-missing-\(UUID().uuidString)"
        #expect(throws: DocsLibrary.LoadError.self) { try DocsLibrary(directory: missing) }

        let empty = NSTemporaryDirectory() + "trainyard-docs-empty-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        try Data("not a page".utf8).write(to: URL(fileURLWithPath: empty + "/README.txt"))
        do {
            _ = try DocsLibrary(directory: empty)
            Issue.record("an empty docs directory was accepted")
        } catch let error as DocsLibrary.LoadError {
            #expect(error.description.contains(empty))
        }
    }

    @Test func viewDataCarriesContentsAndNeighbours() throws {
        let library = try load()
        let page = library.pages[1]
        let data = DocsPageView(page: page, library: library).members()
        #expect(data["page"]?["html"] == .string(page.html))
        #expect(data["previous"]?["href"] == .string("/docs/" + page.previous!))
        #expect(data["hasContents"] == .bool(true))
        guard case .list(let contents)? = data["contents"] else { Issue.record("no contents"); return }
        #expect(contents.count == page.headings.count)
        #expect(contents.first?["href"] == .string("#" + page.headings[0].id))
        guard case .list(let index)? = DocsIndexView(library: library).members()["pages"] else { Issue.record("no index"); return }
        #expect(index.count == library.pages.count)
    }

    // MARK: Helpers

    static func hrefs(in html: String) -> [String] { attributeValues("href", in: html) }
    static func ids(in html: String) -> Set<String> { Set(attributeValues("id", in: html)) }

    static func attributeValues(_ name: String, in html: String) -> [String] {
        var values: [String] = []
        var rest = Substring(html)
        let marker = " \(name)=\""
        while let range = rest.range(of: marker) {
            rest = rest[range.upperBound...]
            guard let end = rest.firstIndex(of: "\"") else { break }
            values.append(String(rest[..<end]).replacingOccurrences(of: "&amp;", with: "&"))
            rest = rest[end...]
        }
        return values
    }
}

// MARK: - Over a real socket

/// `/docs` through the whole app: every page answers, every link and anchor on it resolves, and
/// no address under `/docs` reaches a file. The docs do not touch the database, so SQLite suffices.
@Suite struct DocsEndToEndTests {
    @Test func crawlsEveryDocsPage() throws {
        let running = try RunningApp(.sqlite)
        defer { running.stop() }
        let index = try running.send("/docs")
        #expect(index.status == 200)
        #expect(index.header("Content-Type")?.hasPrefix("text/html") == true)

        var queue = DocsLibraryTests.hrefs(in: index.body).filter { $0.hasPrefix("/docs/") }
        var visited: Set<String> = []
        while let href = queue.popLast() {
            let path = String(href.prefix { $0 != "#" })
            guard visited.insert(path).inserted else { continue }
            let response = try running.send(path)
            #expect(response.status == 200, "\(path)")
            #expect(!response.body.contains("<script") && !response.body.contains(" style="), "\(path)")
            #expect(response.body.contains("aria-label=\"On this page\""), "\(path)")
            #expect(response.body.contains("aria-label=\"Previous and next page\""), "\(path)")
            let ids = DocsLibraryTests.ids(in: response.body)
            for link in DocsLibraryTests.hrefs(in: response.body) {
                if link.hasPrefix("#") { #expect(ids.contains(String(link.dropFirst())), "\(path): \(link)") }
                if link.hasPrefix("/docs/") { queue.append(link) }
            }
        }
        #expect(visited == Set(running.app.docs.pages.map { Paths.doc($0.slug) }))
    }

    @Test func hostileAddressesNeverReachAFile() throws {
        let running = try RunningApp(.sqlite)
        defer { running.stop() }
        let paths = [
            "/docs/../Package.swift", "/docs/%2e%2e%2fREADME", "/docs/%2e%2e%2fREADME.md", "/docs/..%2fPackage.swift",
            "/docs/%2e%2e/%2e%2e/Package.swift", "/docs/NOPE", "/docs/getting-started.md", "/docs/01-getting-started",
            "/docs/getting-started/..%2f..%2fPackage.swift", "/docs/" + String(repeating: "a", count: 200),
            "/docs/%00", "/docs/..%5cPackage.swift",
        ]
        for path in paths {
            let response = try running.send(path)
            #expect(response.status == 404 || response.status == 400, "\(path) answered \(response.status)")
            #expect(!response.body.contains("swift-tools-version"), "\(path)")
            #expect(!response.body.contains("self-hostable ML-ops console"), "\(path)")
        }
    }
}
