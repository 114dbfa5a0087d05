/// A parsed template: lowered to steps ready to render, partials resolved to library indices.
struct CompiledTemplate: Sendable {
    let name: String
    let program: Program
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

/// Literal text, as parsed; `Program` copies it into one byte run per template.
final class TextChunk: Sendable {
    let text: String

    init(_ text: String) { self.text = text }
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
