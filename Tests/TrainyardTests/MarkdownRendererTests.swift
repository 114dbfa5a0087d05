import Testing
@testable import Trainyard

@Suite struct MarkdownRendererTests {
    let renderer = MarkdownRenderer()

    func html(_ markdown: String) -> String { renderer.render(markdown).html }

    /// No script, no event handler, no iframe, no active URL scheme in an attribute.
    func expectInert(_ output: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let lower = output.lowercased()
        for needle in ["<script", "onerror=", "<iframe", "href=\"javascript:", "src=\"javascript:", "href=\"vbscript:",
                       "href=\"file:", "href=\"data:text", "<img src=x"] {
            #expect(!lower.contains(needle), "found \(needle) in \(output)", sourceLocation: sourceLocation)
        }
        #expect(!lower.contains("javascript:alert") || !lower.contains("href=\"j"), sourceLocation: sourceLocation)
    }

    // MARK: CommonMark and GFM output

    @Test func paragraphsAndEmphasis() {
        #expect(html("Hello *world*") == "<p>Hello <em>world</em></p>\n")
    }

    @Test func tableExtension() {
        let output = html("| Model | Size |\n|---|--:|\n| lfm | 7B |\n")
        #expect(output.contains("<table>"))
        #expect(output.contains("<th>Model</th>"))
        #expect(output.contains("<td>lfm</td>"))
        #expect(output.contains("<td align=\"right\">7B</td>"))
    }

    @Test func strikethroughExtension() {
        #expect(html("~~old~~ new").contains("<del>old</del> new"))
    }

    @Test func autolinkExtension() {
        let output = html("See www.example.com and https://example.org/docs.")
        #expect(output.contains("<a href=\"http://www.example.com\">www.example.com</a>"))
        #expect(output.contains("<a href=\"https://example.org/docs\">https://example.org/docs</a>"))
    }

    @Test func taskListExtension() {
        let output = html("- [ ] train\n- [x] deploy\n")
        #expect(output.contains("<input type=\"checkbox\" disabled=\"\" /> train"))
        #expect(output.contains("<input type=\"checkbox\" checked=\"\" disabled=\"\" /> deploy"))
    }

    @Test func tagfilterAndSafeModeKeepRawTagsOut() {
        let output = html("before <iframe src=\"https://evil.example\"></iframe> after\n\n<title>x</title>\n")
        #expect(!output.contains("<iframe"))
        #expect(!output.contains("<title>"))
        #expect(output.contains("raw HTML omitted"))
    }

    // MARK: Headings

    @Test func headingsGetSlugIDsAndTheFirstH1IsTheTitle() {
        let page = renderer.render("Intro\n\n# Getting started\n\n## What's `new`?\n\n# Second h1\n")
        #expect(page.title == "Getting started")
        #expect(page.headings == [
            .init(level: 1, text: "Getting started", id: "getting-started"),
            .init(level: 2, text: "What's new?", id: "whats-new"),
            .init(level: 1, text: "Second h1", id: "second-h1"),
        ])
        #expect(page.html.contains("<h1 id=\"getting-started\">Getting started</h1>"))
        #expect(page.html.contains("<h2 id=\"whats-new\">What's <code>new</code>?</h2>"))
    }

    @Test func duplicateHeadingsGetNumberedIDs() {
        let page = renderer.render("## Usage\n\n## Usage\n\n### Usage\n\n## Usage 2\n")
        #expect(page.headings.map(\.id) == ["usage", "usage-2", "usage-3", "usage-2-2"])
        #expect(page.html.contains("<h2 id=\"usage-2\">Usage</h2>"))
        #expect(page.html.contains("<h3 id=\"usage-3\">Usage</h3>"))
        #expect(page.title == nil)
    }

    @Test func headingIDsAreNotConfusedByCodeThatLooksLikeHeadings() {
        let page = renderer.render("```\n<h2>not a heading</h2>\n```\n\n## Real\n")
        #expect(page.html.contains("&lt;h2&gt;not a heading"))
        #expect(page.html.contains("<h2 id=\"real\">Real</h2>"))
    }

    // MARK: XSS

    @Test func scriptTagIsOmitted() {
        let output = html("<script>alert(1)</script>\n\ntext <script>alert(2)</script>")
        expectInert(output)
    }

    @Test func imageWithOnerrorIsOmitted() {
        expectInert(html("<img src=x onerror=alert(1)>"))
        expectInert(html("inline <img src=x onerror=alert(1)> too"))
    }

    @Test(arguments: [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](  javascript:alert(1))",
        "[x](<javascript:alert(1)>)",
        "[x](java&#9;script:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](file:///etc/passwd)",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "![x](javascript:alert(1))",
        "![x](data:image/svg+xml;base64,PHN2Zz4=)",
        "<javascript:alert(1)>",
        "[x]\n\n[x]: javascript:alert(1)",
    ])
    func activeURLsComeOutEmpty(_ markdown: String) {
        let output = html(markdown)
        expectInert(output)
        #expect(output.contains("href=\"\"") || output.contains("src=\"\"") || !output.contains("href="), "\(output)")
        for scheme in ["javascript:", "vbscript:", "file:", "data:"] {
            #expect(!output.lowercased().contains("=\"\(scheme)"), "\(output)")
        }
    }

    @Test func imageDataURLsAreAllowed() {
        #expect(html("![x](data:image/png;base64,AAAA)").contains("<img src=\"data:image/png;base64,AAAA\" alt=\"x\" />"))
    }

    @Test func ordinaryLinksAreKept() {
        #expect(html("[docs](/docs/guide) [site](https://example.org)")
            == "<p><a href=\"/docs/guide\">docs</a> <a href=\"https://example.org\">site</a></p>\n")
    }

    @Test func rawIframeIsOmitted() {
        expectInert(html("<iframe src=\"https://evil.example\"></iframe>"))
    }

    @Test func htmlInsideTableCellsIsOmitted() {
        let output = html("| a | b |\n|---|---|\n| <script>alert(1)</script> | <img src=x onerror=alert(1)> |\n| [x](javascript:alert(1)) | <iframe></iframe> |\n")
        #expect(output.contains("<table>"))
        expectInert(output)
    }

    @Test func unsafeURLCheckIgnoresCaseWhitespaceAndControlCharacters() {
        #expect(!URLSafety.isSafe(" \t\u{1}JavaScript:alert(1)", isImage: false))
        #expect(!URLSafety.isSafe("java\nscript:alert(1)", isImage: false))
        #expect(!URLSafety.isSafe("DATA:text/html,x", isImage: true))
        #expect(URLSafety.isSafe("data:image/webp;base64,AAAA", isImage: true))
        #expect(URLSafety.isSafe("/javascript:in-a-path", isImage: false))
        #expect(URLSafety.isSafe("https://example.org/?q=javascript:", isImage: false))
    }

    @Test func rendersConcurrently() async {
        let markdown = "# Title\n\n| a |\n|---|\n| ~~b~~ |\n\n- [x] done\n"
        let expected = html(markdown)
        await withTaskGroup(of: String.self) { group in
            for _ in 0..<32 { group.addTask { MarkdownRenderer().render(markdown).html } }
            for await output in group { #expect(output == expected) }
        }
    }
}
