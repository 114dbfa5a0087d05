/// Turns template source into nodes in three passes: scan into text and tags, strip
/// standalone lines, then nest sections. Every error names the tag's line and column.
struct Parser {
    let name: String
    let bytes: [UInt8]
    /// Resolves a partial or parent name to its index in the library.
    let resolve: (String) -> Int?

    init(name: String, source: String, resolve: @escaping (String) -> Int?) {
        self.name = name
        self.bytes = Array(source.utf8)
        self.resolve = resolve
    }

    enum TagKind: Equatable {
        case escaped, raw, section, inverted, close, comment, partial, parent, block, delimiters

        /// Tags that produce no output themselves may stand alone on a line, which is then removed.
        var canStandAlone: Bool { self != .escaped && self != .raw }
    }

    struct Tag {
        var kind: TagKind
        var name: String
        /// Byte offset of the opening delimiter, for error positions.
        var offset: Int
        /// Leading whitespace when the tag stood alone on its line (partials and parents only).
        var indent: String?
    }

    enum Piece {
        /// Literal bytes; a text piece holds at most one newline, at its end.
        case text(Range<Int>)
        case tag(Tag)
    }

    func parse() throws -> CompiledTemplate {
        let pieces = stripStandaloneLines(try scan())
        var textBytes = 0
        for case .text(let range) in pieces { textBytes += range.count }
        return CompiledTemplate(name: name, program: Program(try nest(pieces)), textBytes: textBytes)
    }

    // MARK: Scanning

    private func scan() throws -> [Piece] {
        var pieces: [Piece] = []
        var open: [UInt8] = Array("{{".utf8)
        var close: [UInt8] = Array("}}".utf8)
        var textStart = 0
        var index = 0
        let count = bytes.count

        func appendText(_ range: Range<Int>) {
            var start = range.lowerBound
            for i in range where bytes[i] == UInt8(ascii: "\n") {
                pieces.append(.text(start..<(i + 1)))
                start = i + 1
            }
            if start < range.upperBound { pieces.append(.text(start..<range.upperBound)) }
        }

        while index < count {
            guard matches(open, at: index) else {
                index += 1
                continue
            }
            appendText(textStart..<index)
            let tagStart = index
            var cursor = index + open.count
            guard cursor < count else { throw error("unterminated tag", at: tagStart) }

            var kind = TagKind.escaped
            var closing = close
            switch bytes[cursor] {
            case UInt8(ascii: "#"): kind = .section
            case UInt8(ascii: "^"): kind = .inverted
            case UInt8(ascii: "/"): kind = .close
            case UInt8(ascii: "!"): kind = .comment
            case UInt8(ascii: ">"): kind = .partial
            case UInt8(ascii: "<"): kind = .parent
            case UInt8(ascii: "$"): kind = .block
            case UInt8(ascii: "&"): kind = .raw
            case UInt8(ascii: "="): kind = .delimiters
            case UInt8(ascii: "{"):
                kind = .raw
                closing = [UInt8(ascii: "}")] + close
            default: cursor -= 1
            }
            cursor += 1

            guard let end = find(closing, from: cursor) else {
                throw error("unterminated tag (missing \(String(decoding: closing, as: UTF8.self)))", at: tagStart)
            }
            let content = String(decoding: bytes[cursor..<end], as: UTF8.self)
            index = end + closing.count
            textStart = index

            switch kind {
            case .comment:
                pieces.append(.tag(Tag(kind: .comment, name: "", offset: tagStart)))
            case .delimiters:
                let inner = content.trimmingSpaces()
                guard inner.hasSuffix("=") else { throw error("set-delimiter tag must end with '='", at: tagStart) }
                let parts = inner.dropLast().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
                guard parts.count == 2, !parts[0].contains("="), !parts[1].contains("=") else {
                    throw error("set-delimiter tag needs two delimiters, e.g. {{=<% %>=}}", at: tagStart)
                }
                open = Array(parts[0].utf8)
                close = Array(parts[1].utf8)
                pieces.append(.tag(Tag(kind: .delimiters, name: "", offset: tagStart)))
            default:
                let tagName = content.trimmingSpaces()
                guard !tagName.isEmpty else { throw error("empty tag", at: tagStart) }
                guard !tagName.utf8.contains(where: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else {
                    throw error("invalid name '\(tagName)'", at: tagStart)
                }
                if kind != .partial && kind != .parent && kind != .block && tagName != "." {
                    if tagName.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
                        throw error("invalid name '\(tagName)'", at: tagStart)
                    }
                }
                pieces.append(.tag(Tag(kind: kind, name: tagName, offset: tagStart)))
            }
        }
        appendText(textStart..<count)
        return pieces
    }

    private func matches(_ needle: [UInt8], at index: Int) -> Bool {
        guard index + needle.count <= bytes.count else { return false }
        for k in 0..<needle.count where bytes[index + k] != needle[k] { return false }
        return true
    }

    private func find(_ needle: [UInt8], from start: Int) -> Int? {
        var i = start
        while i + needle.count <= bytes.count {
            if matches(needle, at: i) { return i }
            i += 1
        }
        return nil
    }

    // MARK: Standalone lines

    /// A line holding only whitespace and tags that output nothing is removed whole,
    /// newline included, so block tags on their own lines leave clean HTML behind.
    private func stripStandaloneLines(_ pieces: [Piece]) -> [Piece] {
        var result: [Piece] = []
        result.reserveCapacity(pieces.count)
        var lineStart = 0
        var index = 0
        while index < pieces.count {
            var end = index
            // The line runs to the first text piece that ends with a newline, or to the end.
            while end < pieces.count {
                if case .text(let r) = pieces[end], bytes[r.upperBound - 1] == UInt8(ascii: "\n") { break }
                end += 1
            }
            let lineEnd = min(end + 1, pieces.count)
            let line = pieces[lineStart..<lineEnd]
            if isStandalone(line) {
                var indent = ""
                for piece in line {
                    switch piece {
                    case .text(let r):
                        indent += String(decoding: bytes[r].filter { $0 == 0x20 || $0 == 0x09 }, as: UTF8.self)
                    case .tag(var tag):
                        if tag.kind == .partial || tag.kind == .parent { tag.indent = indent }
                        result.append(.tag(tag))
                    }
                }
            } else {
                result.append(contentsOf: line)
            }
            lineStart = lineEnd
            index = lineEnd
        }
        return result
    }

    private func isStandalone(_ line: ArraySlice<Piece>) -> Bool {
        var sawTag = false
        for piece in line {
            switch piece {
            case .text(let r):
                for b in bytes[r] where b != 0x20 && b != 0x09 && b != 0x0D && b != 0x0A { return false }
            case .tag(let tag):
                guard tag.kind.canStandAlone else { return false }
                sawTag = true
            }
        }
        return sawTag
    }

    // MARK: Nesting

    private struct Frame {
        var tag: Tag
        var nodes: [Node] = []
    }

    private func nest(_ pieces: [Piece]) throws -> [Node] {
        var frames: [Frame] = [Frame(tag: Tag(kind: .section, name: "", offset: 0))]
        var pendingText = ""

        func flushText() {
            guard !pendingText.isEmpty else { return }
            frames[frames.count - 1].nodes.append(.text(TextChunk(pendingText)))
            pendingText = ""
        }

        for piece in pieces {
            guard case .tag(let tag) = piece else {
                if case .text(let r) = piece { pendingText += String(decoding: bytes[r], as: UTF8.self) }
                continue
            }
            switch tag.kind {
            case .comment, .delimiters:
                continue
            case .escaped, .raw:
                flushText()
                frames[frames.count - 1].nodes.append(.value(NamePath(tag.name), escaped: tag.kind == .escaped))
            case .partial:
                flushText()
                guard let target = resolve(tag.name) else { throw error("unknown partial '\(tag.name)'", at: tag.offset) }
                frames[frames.count - 1].nodes.append(.partial(target, indent: tag.indent))
            case .section, .inverted, .parent, .block:
                flushText()
                if tag.kind == .parent, resolve(tag.name) == nil {
                    throw error("unknown parent '\(tag.name)'", at: tag.offset)
                }
                frames.append(Frame(tag: tag))
            case .close:
                flushText()
                guard frames.count > 1 else {
                    throw error("closing tag '\(tag.name)' has no open section", at: tag.offset)
                }
                let frame = frames.removeLast()
                guard frame.tag.name == tag.name else {
                    let (line, column) = position(of: frame.tag.offset)
                    throw error("closing tag '\(tag.name)' does not match open section '\(frame.tag.name)' (line \(line), column \(column))", at: tag.offset)
                }
                let node: Node
                switch frame.tag.kind {
                case .section: node = .section(NamePath(frame.tag.name), frame.nodes)
                case .inverted: node = .inverted(NamePath(frame.tag.name), frame.nodes)
                case .block: node = .block(frame.tag.name, frame.nodes)
                default:
                    // Inside a parent only blocks count: they are the arguments; other content is ignored.
                    var overrides: [String: [Node]] = [:]
                    for case .block(let blockName, let body) in frame.nodes where overrides[blockName] == nil {
                        overrides[blockName] = body
                    }
                    node = .parent(resolve(frame.tag.name)!, overrides: overrides, indent: frame.tag.indent)
                }
                frames[frames.count - 1].nodes.append(node)
            }
        }
        flushText()
        if frames.count > 1, let open = frames.last {
            throw error("unclosed section '\(open.tag.name)'", at: open.tag.offset)
        }
        return frames[0].nodes
    }

    // MARK: Errors

    private func position(of offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        for i in 0..<min(offset, bytes.count) where bytes[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        let column = String(decoding: bytes[lineStart..<min(offset, bytes.count)], as: UTF8.self).count + 1
        return (line, column)
    }

    private func error(_ message: String, at offset: Int) -> TemplateError {
        let (line, column) = position(of: offset)
        return TemplateError(template: name, line: line, column: column, message: message)
    }
}

extension String {
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
