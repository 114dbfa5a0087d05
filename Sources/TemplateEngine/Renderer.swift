/// Renders compiled nodes into one growing byte buffer (UTF-8): literal text is stored as bytes
/// when templates load, so a render copies bytes and escapes values, with no string appends.
///
/// All state lives in this struct and is created per render, so a library can be
/// shared by any number of threads.
struct Renderer {
    /// Bounds partial and parent nesting so a recursive partial over deep data cannot
    /// exhaust the stack.
    static let maxDepth = 64

    let templates: [CompiledTemplate]
    var out: [UInt8]
    var stack: ContiguousArray<TemplateValue>
    /// Indentation of the standalone partials being rendered; empty almost always.
    var indent: [UInt8] = []
    var atLineStart = true
    var depth = 0

    init(templates: [CompiledTemplate], context: TemplateValue, capacity: Int) {
        self.templates = templates
        out = []
        out.reserveCapacity(capacity)
        stack = []
        stack.reserveCapacity(16)
        stack.append(context)
    }

    mutating func render(_ nodes: [Node], _ overrides: [String: [Node]], in template: Int) throws {
        for node in nodes {
            switch node {
            case .text(let chunk):
                if indent.isEmpty {
                    out.append(contentsOf: chunk.bytes)
                } else {
                    writeIndented(chunk)
                }

            case .value(let path, let escaped):
                if !indent.isEmpty && atLineStart { startLine() }
                if let value = lookup(path) { Self.write(value, escaped: escaped, to: &out) }

            case .section(let path, let body):
                guard let value = lookup(path) else { continue }
                switch value {
                case .list(let items):
                    for item in items {
                        stack.append(item)
                        try render(body, overrides, in: template)
                        stack.removeLast()
                    }
                case .bool(let flag):
                    if flag { try render(body, overrides, in: template) }
                case .null:
                    continue
                default:
                    guard value.isTruthy else { continue }
                    stack.append(value)
                    try render(body, overrides, in: template)
                    stack.removeLast()
                }

            case .inverted(let path, let body):
                if let value = lookup(path), value.isTruthy { continue }
                try render(body, overrides, in: template)

            case .partial(let target, let tagIndent):
                try include(target, overrides, tagIndent, from: template)

            case .parent(let target, let arguments, let tagIndent):
                // Arguments from further out take precedence: the outermost child wins.
                var merged = arguments
                if merged.isEmpty {
                    merged = overrides
                } else if !overrides.isEmpty {
                    for (name, body) in overrides { merged[name] = body }
                }
                try include(target, merged, tagIndent, from: template)

            case .block(let name, let defaultBody):
                if !overrides.isEmpty, let body = overrides[name] {
                    try render(body, overrides, in: template)
                } else {
                    try render(defaultBody, overrides, in: template)
                }
            }
        }
    }

    private mutating func include(_ target: Int, _ overrides: [String: [Node]], _ tagIndent: String?, from template: Int) throws {
        guard depth < Renderer.maxDepth else {
            throw TemplateError(
                template: templates[template].name, line: 0, column: 0,
                message: "partials nested deeper than \(Renderer.maxDepth) levels (recursive partial?)")
        }
        depth += 1
        // The indentation grows and shrinks in place (a copy per partial, made and freed for
        // every row of a table, was most of a render's allocations).
        if let tagIndent {
            // A standalone partial: its lines take the tag's indentation.
            let outer = indent.count
            indent.append(contentsOf: tagIndent.utf8)
            atLineStart = true
            try render(templates[target].nodes, overrides, in: target)
            indent.removeSubrange(outer...)
        } else if indent.isEmpty {
            try render(templates[target].nodes, overrides, in: target)
        } else {
            var outer: [UInt8] = []
            swap(&outer, &indent)
            try render(templates[target].nodes, overrides, in: target)
            swap(&outer, &indent)
        }
        depth -= 1
    }

    @inline(__always)
    private mutating func startLine() {
        out.append(contentsOf: indent)
        atLineStart = false
    }

    private mutating func writeIndented(_ chunk: TextChunk) {
        for line in chunk.lines {
            if atLineStart && !line.isBlank { out.append(contentsOf: indent) }
            out.append(contentsOf: line.text)
            atLineStart = line.endsLine
        }
    }

    /// Finds the first name on the context stack, innermost first, then walks the rest
    /// of a dotted name inside that value only (a broken chain renders nothing).
    @inline(__always)
    private func lookup(_ path: NamePath) -> TemplateValue? {
        if path.isImplicit { return stack.last }
        var i = stack.count - 1
        var found: TemplateValue?
        while i >= 0 {
            switch stack[i] {
            case .object(let members):
                if let value = members[path.first] { found = value }
            case .record(let keys, let values):
                if let at = keys.position(ofID: path.firstID) { found = values[at] }
            default:
                break
            }
            if found != nil { break }
            i -= 1
        }
        guard var value = found else { return nil }
        for key in path.rest {
            guard let next = value[key] else { return nil }
            value = next
        }
        return value
    }

    @inline(__always)
    private static func write(_ value: TemplateValue, escaped: Bool, to out: inout [UInt8]) {
        switch value {
        case .string(let text):
            if escaped {
                HTMLEscape.append(text, to: &out)
            } else {
                out.append(contentsOf: text.utf8)
            }
        case .int(let number):
            Self.appendDecimal(number, to: &out)
        case .double(let number):
            out.append(contentsOf: String(number).utf8)
        case .bool(let flag):
            out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .null, .list, .object, .record:
            break
        }
    }
}

extension Renderer {
    /// `n` in decimal, digit by digit: numbers fill tables, and `String(n)` made one string each.
    static func appendDecimal(_ n: Int, to out: inout [UInt8]) {
        if n == 0 { out.append(UInt8(ascii: "0")); return }
        var magnitude = n.magnitude
        if n < 0 { out.append(UInt8(ascii: "-")) }
        let start = out.count
        while magnitude > 0 {
            out.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        }
        out[start...].reverse()
    }
}

enum HTMLEscape {
    /// Appends `text` as UTF-8 with `& < > " '` escaped; runs with nothing to escape are copied in bulk.
    static func append(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { bytes in
            var runStart = 0
            for i in 0..<bytes.count where needsEscape(bytes[i]) {
                if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
                switch bytes[i] {
                case UInt8(ascii: "&"): out.append(contentsOf: "&amp;".utf8)
                case UInt8(ascii: "<"): out.append(contentsOf: "&lt;".utf8)
                case UInt8(ascii: ">"): out.append(contentsOf: "&gt;".utf8)
                case UInt8(ascii: "\""): out.append(contentsOf: "&quot;".utf8)
                default: out.append(contentsOf: "&#39;".utf8)
                }
                runStart = i + 1
            }
            if runStart < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
        }
    }

    /// Appends `text` with `& < > " '` escaped. Unchanged runs are copied in bulk; text
    /// with nothing to escape (the usual case) is appended in one call.
    static func append(_ text: String, to out: inout String) {
        let utf8 = text.utf8
        let firstSpecial: Int? = utf8.withContiguousStorageIfAvailable { bytes in
            for i in 0..<bytes.count where needsEscape(bytes[i]) { return i }
            return nil
        } ?? 0
        guard let firstSpecial else {
            out.append(text)
            return
        }
        var runStart = utf8.startIndex
        var index = utf8.index(utf8.startIndex, offsetBy: firstSpecial)
        while index < utf8.endIndex {
            let replacement: String
            switch utf8[index] {
            case UInt8(ascii: "&"): replacement = "&amp;"
            case UInt8(ascii: "<"): replacement = "&lt;"
            case UInt8(ascii: ">"): replacement = "&gt;"
            case UInt8(ascii: "\""): replacement = "&quot;"
            case UInt8(ascii: "'"): replacement = "&#39;"
            default:
                utf8.formIndex(after: &index)
                continue
            }
            if runStart < index { out.append(contentsOf: text[runStart..<index]) }
            out.append(replacement)
            utf8.formIndex(after: &index)
            runStart = index
        }
        if runStart < utf8.endIndex { out.append(contentsOf: text[runStart...]) }
    }

    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool {
        // All five are below 0x3F; one comparison rejects most letters.
        byte < 0x3F && (byte == 0x26 || byte == 0x3C || byte == 0x3E || byte == 0x22 || byte == 0x27)
    }

    /// `text` escaped for HTML.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        append(text, to: &out)
        return out
    }
}
