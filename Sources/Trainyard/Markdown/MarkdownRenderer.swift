import Foundation
import CCmarkGFM

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Renders GitHub-flavoured Markdown (tables, strikethrough, autolinks, task lists) to
/// HTML that is safe to embed in a page.
///
/// Safety comes in two layers: cmark-gfm runs without `CMARK_OPT_UNSAFE`, so raw HTML
/// becomes `<!-- raw HTML omitted -->`; and every link and image URL is checked here
/// before rendering, so `javascript:`, `vbscript:`, `file:` and non-image `data:` URLs
/// are emptied whatever cmark's own filter does.
///
/// Thread-safe: each call uses its own parser.
///
/// ```swift
/// let page = MarkdownRenderer().render("# Models\n\nSee [the guide](/docs/guide).")
/// page.title    // "Models"
/// page.html     // "<h1 id=\"models\">Models</h1>\n<p>See <a href=\"/docs/guide\">…"
/// ```
public struct MarkdownRenderer: Sendable {
    static let extensionNames = ["table", "strikethrough", "autolink", "tagfilter", "tasklist"]

    /// Registration mutates cmark's global extension registry; do it once, guarded by
    /// Swift's thread-safe global initialisation.
    private static let registered: Bool = {
        cmark_gfm_core_extensions_ensure_registered()
        return true
    }()

    /// cmark-gfm keeps the inline parser's table of special characters in a global, which each
    /// parser with extensions adds its characters to when it starts and removes them from when
    /// it finishes; two parses at once can lose `~` or `|` halfway. Parsing is therefore one at
    /// a time (it takes microseconds for a card); rendering the tree is not serialised.
    private static let parseLock = NSLock()

    public init() {}

    public func render(_ markdown: String) -> RenderedMarkdown {
        _ = Self.registered
        // Never CMARK_OPT_UNSAFE: raw HTML must stay omitted.
        let options = CMARK_OPT_DEFAULT
        guard let parser = cmark_parser_new(options) else {
            return RenderedMarkdown(html: "", headings: [], title: nil)
        }
        defer { cmark_parser_free(parser) }
        for name in Self.extensionNames {
            if let syntaxExtension = cmark_find_syntax_extension(name) {
                cmark_parser_attach_syntax_extension(parser, syntaxExtension)
            }
        }

        var source = markdown
        Self.parseLock.lock()
        source.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                if let base = chars.baseAddress, chars.count > 0 {
                    cmark_parser_feed(parser, base, chars.count)
                }
            }
        }
        let finished = cmark_parser_finish(parser)
        Self.parseLock.unlock()
        guard let document = finished else {
            return RenderedMarkdown(html: "", headings: [], title: nil)
        }
        defer { cmark_node_free(document) }

        let outline = Self.sanitizeAndCollectHeadings(document)

        guard let rendered = cmark_render_html(document, options, cmark_parser_get_syntax_extensions(parser)) else {
            return RenderedMarkdown(html: "", headings: [], title: nil)
        }
        defer { free(rendered) }
        let html = Self.wrapTables(Self.labelTaskItems(Self.addHeadingIDs(String(cString: rendered), outline.map(\.id))))
        return RenderedMarkdown(html: html, headings: outline, title: outline.first(where: { $0.level == 1 })?.text)
    }

    /// Walks the tree once: blanks unsafe link and image URLs, and collects headings
    /// with unique slugs in document order.
    private static func sanitizeAndCollectHeadings(_ document: OpaquePointer) -> [RenderedMarkdown.Heading] {
        var headings: [RenderedMarkdown.Heading] = []
        var slugs = SlugSet()
        guard let iterator = cmark_iter_new(document) else { return [] }
        defer { cmark_iter_free(iterator) }

        var heading: (node: OpaquePointer, level: Int, text: String)?
        while true {
            let event = cmark_iter_next(iterator)
            if event == CMARK_EVENT_DONE { break }
            guard let node = cmark_iter_get_node(iterator) else { continue }
            let type = cmark_node_get_type(node)

            if event == CMARK_EVENT_ENTER {
                if type == CMARK_NODE_LINK || type == CMARK_NODE_IMAGE {
                    let url = cmark_node_get_url(node).map { String(cString: $0) } ?? ""
                    if !URLSafety.isSafe(url, isImage: type == CMARK_NODE_IMAGE) {
                        cmark_node_set_url(node, "")
                    }
                } else if type == CMARK_NODE_HEADING {
                    heading = (node, Int(cmark_node_get_heading_level(node)), "")
                } else if heading != nil {
                    if type == CMARK_NODE_TEXT || type == CMARK_NODE_CODE {
                        if let literal = cmark_node_get_literal(node) { heading!.text += String(cString: literal) }
                    } else if type == CMARK_NODE_SOFTBREAK || type == CMARK_NODE_LINEBREAK {
                        heading!.text += " "
                    }
                }
            } else if event == CMARK_EVENT_EXIT, let current = heading, current.node == node {
                let text = current.text.trimmingWhitespace()
                headings.append(.init(level: current.level, text: text, id: slugs.unique(Slug.make(text))))
                heading = nil
            }
        }
        return headings
    }

    /// Puts `id="…"` on each `<hN>` open tag in order. cmark writes heading tags without
    /// attributes and raw HTML is omitted, so the open tags match the collected headings
    /// one to one.
    static func addHeadingIDs(_ html: String, _ ids: [String]) -> String {
        guard !ids.isEmpty else { return html }
        let bytes = Array(html.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + ids.reduce(0) { $0 + $1.utf8.count + 6 })
        var next = 0
        var i = 0
        while i < bytes.count {
            if next < ids.count, i + 3 < bytes.count, bytes[i] == UInt8(ascii: "<"), bytes[i + 1] == UInt8(ascii: "h"),
               (UInt8(ascii: "1")...UInt8(ascii: "6")).contains(bytes[i + 2]), bytes[i + 3] == UInt8(ascii: ">") {
                out.append(contentsOf: bytes[i..<(i + 3)])
                out.append(contentsOf: Array(" id=\"".utf8))
                out.append(contentsOf: Array(ids[next].utf8))
                out.append(contentsOf: Array("\">".utf8))
                next += 1
                i += 4
                continue
            }
            out.append(bytes[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension MarkdownRenderer {
    /// A task-list item's checkbox has no label of its own, so assistive technology would read
    /// an unnamed checkbox. Wrap it with the rest of the item's first line in a `<label>`, so it
    /// is named by what it marks. A line whose inline tags do not close on it is left alone.
    static func labelTaskItems(_ html: String) -> String {
        guard html.contains("<input type=\"checkbox\"") else { return html }
        let item = #/(<input type="checkbox"(?: checked="")? disabled="" />)([^\n]*?)(?=</li>|</p>|<ul>|<ol>|\n)/#
        return html.replacing(item) { match in
            let (_, input, line) = match.output
            guard isBalanced(line) else { return String(match.output.0) }
            return "<label class=\"task-item\">\(input)\(line)</label>"
        }
    }

    /// Wide tables scroll inside their own box instead of widening the page on a phone.
    static func wrapTables(_ html: String) -> String {
        guard html.contains("<table>") else { return html }
        return html.replacing("<table>", with: "<div class=\"table-wrap\"><table>")
            .replacing("</table>", with: "</table></div>")
    }

    /// Whether every tag opened in `fragment` closes in it (void elements aside).
    private static func isBalanced(_ fragment: Substring) -> Bool {
        var depth = 0
        var rest = fragment[...]
        while let open = rest.firstIndex(of: "<") {
            let after = rest[rest.index(after: open)...]
            if after.hasPrefix("/") {
                depth -= 1
            } else if !(after.hasPrefix("br") || after.hasPrefix("img") || after.hasPrefix("input")) {
                depth += 1
            }
            if depth < 0 { return false }
            rest = after
        }
        return depth == 0
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
