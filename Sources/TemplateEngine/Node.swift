/// A parsed template: nodes ready to render, partials resolved to library indices.
struct CompiledTemplate: Sendable {
    let name: String
    let nodes: [Node]
    /// Bytes of literal text, used to size the output buffer up front.
    let textBytes: Int
}

/// A name as written in a tag, split once at load so rendering never splits strings.
final class NamePath: Sendable {
    /// `{{.}}`: the top of the context stack.
    let isImplicit: Bool
    let first: String
    /// `first`'s number in `TemplateNames`, what a `.record` lookup compares.
    let firstID: Int
    let rest: [String]

    init(_ name: String) {
        if name == "." {
            isImplicit = true
            first = ""
            rest = []
        } else {
            let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            isImplicit = false
            first = parts[0]
            rest = Array(parts.dropFirst())
        }
        firstID = TemplateNames.id(first)
    }
}

/// Literal text. `lines` is the same text cut after each newline, used only when the
/// text belongs to a standalone partial whose indentation must start every line.
final class TextChunk: Sendable {
    let text: String
    /// `text` as UTF-8, copied into the output as is.
    let bytes: [UInt8]
    let lines: [(text: [UInt8], isBlank: Bool, endsLine: Bool)]

    init(_ text: String) {
        self.text = text
        bytes = Array(text.utf8)
        var lines: [([UInt8], Bool, Bool)] = []
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(after: index)
            if text[index] == "\n" || text[index] == "\r\n" {
                let current = text[start..<next]
                lines.append((Array(current.utf8), current == "\n" || current == "\r\n", true))
                start = next
            }
            index = next
        }
        if start < text.endIndex { lines.append((Array(text[start...].utf8), false, false)) }
        self.lines = lines
    }
}

enum Node: Sendable {
    case text(TextChunk)
    /// `{{x}}` (escaped) or `{{{x}}}` / `{{& x}}`.
    case value(NamePath, escaped: Bool)
    case section(NamePath, [Node])
    case inverted(NamePath, [Node])
    /// `{{> name}}`; `indent` is non-nil when the tag stood alone on its line.
    case partial(Int, indent: String?)
    /// `{{< name}}…{{/name}}` with the blocks it overrides.
    case parent(Int, overrides: [String: [Node]], indent: String?)
    /// `{{$ name}}default{{/name}}`.
    case block(String, [Node])
}
