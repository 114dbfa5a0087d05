import Foundation

/// One page of the user documentation, rendered once at start-up.
public struct DocPage: Sendable, Equatable {
    /// Lower-case letters, digits and hyphens: the last segment of `/docs/{slug}`.
    public var slug: String
    /// The text of the page's first level-1 heading.
    public var title: String
    /// The first top-level paragraph as plain text on one line, for the index.
    public var summary: String
    /// Safe HTML from the Markdown renderer.
    public var html: String
    /// The level-2 and level-3 headings, for the table of contents.
    public var headings: [RenderedMarkdown.Heading]
    /// Slugs of the neighbouring pages in reading order.
    public var previous: String?
    public var next: String?
}

/// The Markdown pages of `Docs/`, loaded and rendered once when the app starts.
///
/// Files are named `NN-slug.md`: the number sets the reading order and the rest is the slug,
/// so `01-getting-started.md` is served at `/docs/getting-started`. Lookups only ever read the
/// in-memory table, after checking the slug's shape, so no request can reach the file system.
public final class DocsLibrary: Sendable {
    /// Why the documentation could not be loaded; reported at start-up.
    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Every page, in reading order.
    public let pages: [DocPage]
    private let bySlug: [String: DocPage]

    /// Reads every `*.md` file directly inside `directory`. Other files are ignored.
    /// `substitutions` replace `{{name}}` placeholders in the Markdown (limits quoted from the
    /// rules that enforce them); a placeholder with no value fails the load.
    public convenience init(directory: String, substitutions: [String: String] = DocsLibrary.documentedRules) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw LoadError(description: "the documentation directory '\(directory)' does not exist (set TRAINYARD_DOCS_DIR to where Docs/ is)")
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw LoadError(description: "the documentation directory '\(directory)' cannot be read: \(error)")
        }
        var files: [(name: String, markdown: String)] = []
        for name in names where name.hasSuffix(".md") && !name.hasPrefix(".") {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw LoadError(description: "documentation page '\(path)' cannot be read")
            }
            guard let markdown = String(data: data, encoding: .utf8) else {
                throw LoadError(description: "documentation page '\(path)' is not UTF-8 text")
            }
            files.append((name, try Self.substitute(markdown, substitutions, page: name)))
        }
        guard !files.isEmpty else {
            throw LoadError(description: "the documentation directory '\(directory)' holds no Markdown pages (NN-slug.md)")
        }
        try self.init(files: files)
    }

    static func substitute(_ markdown: String, _ values: [String: String], page: String) throws -> String {
        var out = markdown
        for (name, value) in values { out = out.replacingOccurrences(of: "{{" + name + "}}", with: value) }
        if let open = out.range(of: "{{"), let close = out.range(of: "}}", range: open.upperBound..<out.endIndex) {
            throw LoadError(description: "documentation page '\(page)' uses the unknown placeholder '\(out[open.lowerBound..<close.upperBound])'")
        }
        return out
    }

    /// Builds the library from file names and their Markdown.
    public init(files: [(name: String, markdown: String)], renderer: MarkdownRenderer = MarkdownRenderer()) throws {
        guard !files.isEmpty else { throw LoadError(description: "there are no documentation pages") }
        var entries: [(order: Int, page: DocPage)] = []
        var seen: Set<String> = []
        for file in files {
            guard let (order, slug) = Self.parseFileName(file.name) else {
                throw LoadError(description: "documentation page '\(file.name)' must be named like '01-getting-started.md' (a number, a hyphen, then lower-case letters, digits and hyphens)")
            }
            guard seen.insert(slug).inserted else {
                throw LoadError(description: "two documentation pages share the slug '\(slug)'")
            }
            let rendered = renderer.render(file.markdown)
            guard let title = rendered.title, !title.isEmpty else {
                throw LoadError(description: "documentation page '\(file.name)' needs a level-1 heading for its title")
            }
            guard let summary = Self.firstParagraphText(rendered.html), !summary.isEmpty else {
                throw LoadError(description: "documentation page '\(file.name)' needs an opening paragraph for its summary")
            }
            let page = DocPage(slug: slug, title: title, summary: summary, html: rendered.html,
                               headings: rendered.headings.filter { $0.level == 2 || $0.level == 3 },
                               previous: nil, next: nil)
            entries.append((order, page))
        }
        entries.sort { ($0.order, $0.page.slug) < ($1.order, $1.page.slug) }
        var ordered = entries.map(\.page)
        for index in ordered.indices {
            ordered[index].previous = index > 0 ? ordered[index - 1].slug : nil
            ordered[index].next = index + 1 < ordered.count ? ordered[index + 1].slug : nil
        }
        pages = ordered
        bySlug = Dictionary(uniqueKeysWithValues: ordered.map { ($0.slug, $0) })
    }

    /// The page for `slug`, or nil for an unknown or malformed slug.
    public func page(slug: String) -> DocPage? {
        guard Self.isValidSlug(slug) else { return nil }
        return bySlug[slug]
    }

    /// `^[a-z0-9-]{1,64}$`, checked byte by byte.
    public static func isValidSlug(_ slug: String) -> Bool {
        let bytes = slug.utf8
        guard (1...64).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-")
        }
    }

    /// `01-getting-started.md` → (1, "getting-started"); nil for any other shape.
    static func parseFileName(_ name: String) -> (order: Int, slug: String)? {
        guard name.hasSuffix(".md") else { return nil }
        let stem = name.dropLast(3)
        guard let hyphen = stem.firstIndex(of: "-") else { return nil }
        let digits = stem[..<hyphen]
        let slug = String(stem[stem.index(after: hyphen)...])
        guard (1...4).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let order = Int(digits), isValidSlug(slug) else { return nil }
        return (order, slug)
    }

    // MARK: Summary

    /// The text of the first top-level `<p>` of renderer output, tags removed, entities
    /// decoded and whitespace folded onto one line.
    static func firstParagraphText(_ html: String) -> String? {
        var depth = 0
        var capturing = false
        var text = ""
        var index = html.startIndex
        while index < html.endIndex {
            let character = html[index]
            guard character == "<" else {
                if capturing { text.append(character) }
                index = html.index(after: index)
                continue
            }
            guard let close = html[index...].firstIndex(of: ">") else { break }
            let tag = html[html.index(after: index)..<close]
            index = html.index(after: close)
            if tag.hasPrefix("!") { continue }                     // comments such as "raw HTML omitted"
            if tag.hasPrefix("/") {
                depth -= 1
                if capturing && depth == 0 { return foldWhitespace(decodeEntities(text)) }
            } else if tag.hasSuffix("/") {
                if capturing && tag.hasPrefix("br") { text.append(" ") }
            } else {
                if depth == 0 && (tag == "p" || tag.hasPrefix("p ")) { capturing = true }
                depth += 1
            }
        }
        return nil
    }

    /// The entities cmark writes: `&amp; &lt; &gt; &quot;` and numeric references.
    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let tail = rest[amp...]
            if let semicolon = tail.prefix(12).firstIndex(of: ";") {
                let name = tail[tail.index(after: amp)..<semicolon]
                if let decoded = decodeEntity(name) {
                    out += decoded
                    rest = tail[tail.index(after: semicolon)...]
                    continue
                }
            }
            out.append("&")
            rest = tail.dropFirst()
        }
        out += rest
        return out
    }

    private static func decodeEntity(_ name: Substring) -> String? {
        switch name {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        default:
            guard name.hasPrefix("#") else { return nil }
            let number = name.dropFirst()
            let value = number.hasPrefix("x") || number.hasPrefix("X") ? UInt32(number.dropFirst(), radix: 16) : UInt32(number)
            return value.flatMap(Unicode.Scalar.init).map { String(Character($0)) }
        }
    }

    static func foldWhitespace(_ text: String) -> String {
        text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}
