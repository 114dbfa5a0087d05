/// Runs compiled programs into one growing byte buffer (UTF-8): literal text is stored as bytes
/// when templates load, so a render copies bytes and escapes values, with no string appends.
///
/// All state lives in this struct and is created per render, so a library can be
/// shared by any number of threads.
struct Renderer {
    /// Bounds partial and parent nesting so a recursive partial over deep data cannot
    /// exhaust the stack.
    static let maxDepth = 64

    /// One value of the context stack. A record's names and values are reached through
    /// pointers taken when it is pushed: `value` holds the storage they point into, and a
    /// `TemplateValue` is immutable, so they stay valid until the frame is popped. A lookup
    /// in a row then reads memory instead of copying (retaining and releasing) the row's
    /// arrays for every name.
    struct Frame {
        let value: TemplateValue
        let ids: UnsafeBufferPointer<Int>
        let values: UnsafePointer<TemplateValue>?

        /// One row of a `.rows` value: the section that iterates holds the value alive.
        init(row ids: UnsafeBufferPointer<Int>, _ values: UnsafePointer<TemplateValue>) {
            value = .null
            self.ids = ids
            self.values = values
        }

        init(_ value: TemplateValue) {
            self.value = value
            if case .record(let keys, let values) = value, !values.isEmpty {
                ids = UnsafeBufferPointer(rebasing: keys.ids[0..<min(keys.ids.count, values.count)])
                self.values = values.withUnsafeBufferPointer { $0.baseAddress }
            } else {
                ids = UnsafeBufferPointer(start: nil, count: 0)
                self.values = nil
            }
        }
    }

    /// Where a lookup found its value: in place (a record's member, read without a copy) or
    /// copied out (an object's member, a dotted name's end, the implicit `.`).
    enum Found {
        case missing
        case member(UnsafePointer<TemplateValue>)
        case copied(TemplateValue)
    }

    let templates: [CompiledTemplate]
    var out: ByteWriter
    var stack: ContiguousArray<Frame>
    /// Indentation of the standalone partials being rendered; empty almost always.
    var indent: [UInt8] = []
    var atLineStart = true
    var depth = 0

    init(templates: [CompiledTemplate], context: TemplateValue, capacity: Int) {
        self.templates = templates
        out = ByteWriter(capacity: capacity)
        stack = []
        stack.reserveCapacity(16)
        stack.append(Frame(context))
    }

    /// Runs template `template` from its first step to its last.
    mutating func run(_ template: Int, _ overrides: [Program.Override]) throws {
        let program = templates[template].program
        try run(program, template, 0..<program.steps.count, overrides)
    }

    private mutating func run(_ program: Program, _ template: Int, _ range: Range<Int>, _ overrides: [Program.Override]) throws {
        let steps = program.steps
        var pc = range.lowerBound
        while pc < range.upperBound {
            switch steps[pc] {
            case .text(let start, let count):
                let bytes = UnsafeBufferPointer(rebasing: program.text[start..<(start + count)])
                if indent.isEmpty {
                    out.append(bytes)
                } else {
                    writeIndented(bytes)
                }
                pc += 1

            case .value(let path, let escaped):
                if !indent.isEmpty && atLineStart { startLine() }
                switch find(path, in: program) {
                case .missing: break
                case .member(let at): Self.write(at.pointee, escaped: escaped, to: &out)
                case .copied(let value): Self.write(value, escaped: escaped, to: &out)
                }
                pc += 1

            case .section(let path, let end):
                let value: TemplateValue
                switch find(path, in: program) {
                case .missing: pc = end; continue
                case .member(let at): value = at.pointee
                case .copied(let copy): value = copy
                }
                switch value {
                case .list(let items):
                    for item in items {
                        stack.append(Frame(item))
                        try run(program, template, (pc + 1)..<end, overrides)
                        stack.removeLast()
                    }
                case .rows(let keys, let values):
                    let width = keys.ids.count
                    guard width > 0 else { break }
                    try values.withUnsafeBufferPointer { all in
                        var start = 0
                        while start + width <= all.count {
                            stack.append(Frame(row: keys.ids, all.baseAddress! + start))
                            try run(program, template, (pc + 1)..<end, overrides)
                            stack.removeLast()
                            start += width
                        }
                    }
                case .bool(let flag):
                    if flag { try run(program, template, (pc + 1)..<end, overrides) }
                case .null:
                    break
                default:
                    if value.isTruthy {
                        stack.append(Frame(value))
                        try run(program, template, (pc + 1)..<end, overrides)
                        stack.removeLast()
                    }
                }
                pc = end

            case .inverted(let path, let end):
                let shown: Bool
                switch find(path, in: program) {
                case .missing: shown = true
                case .member(let at): shown = !at.pointee.isTruthy
                case .copied(let value): shown = !value.isTruthy
                }
                if shown { try run(program, template, (pc + 1)..<end, overrides) }
                pc = end

            case .partial(let target, let tagIndent):
                try include(target, overrides, tagIndent < 0 ? nil : program.indents[tagIndent], from: template)
                pc += 1

            case .parent(let target, let set, let tagIndent, let end):
                // Arguments from further out take precedence: the outermost child wins.
                var merged = program.overrideSets[set].map {
                    Program.Override(name: $0.name, template: template, start: $0.start, end: $0.end)
                }
                for outer in overrides {
                    if let at = merged.firstIndex(where: { $0.name == outer.name }) {
                        merged[at] = outer
                    } else {
                        merged.append(outer)
                    }
                }
                try include(target, merged, tagIndent < 0 ? nil : program.indents[tagIndent], from: template)
                pc = end

            case .block(let name, let end):
                if let chosen = overrides.first(where: { $0.name == name }) {
                    try run(templates[chosen.template].program, chosen.template, chosen.start..<chosen.end, overrides)
                } else {
                    try run(program, template, (pc + 1)..<end, overrides)
                }
                pc = end
            }
        }
    }

    private mutating func include(_ target: Int, _ overrides: [Program.Override], _ tagIndent: [UInt8]?, from template: Int) throws {
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
            indent.append(contentsOf: tagIndent)
            atLineStart = true
            try run(target, overrides)
            indent.removeSubrange(outer...)
        } else if indent.isEmpty {
            try run(target, overrides)
        } else {
            var outer: [UInt8] = []
            swap(&outer, &indent)
            try run(target, overrides)
            swap(&outer, &indent)
        }
        depth -= 1
    }

    @inline(__always)
    private mutating func startLine() {
        out.append(indent)
        atLineStart = false
    }

    /// Text inside an indented partial: each line that starts there, unless it is blank,
    /// takes the indentation first.
    private mutating func writeIndented(_ bytes: UnsafeBufferPointer<UInt8>) {
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            let endsLine = end < bytes.count
            if endsLine { end += 1 }
            let length = end - start
            let isBlank = endsLine && (length == 1 || (length == 2 && bytes[start] == UInt8(ascii: "\r")))
            if atLineStart && !isBlank { out.append(indent) }
            out.append(UnsafeBufferPointer(rebasing: bytes[start..<end]))
            atLineStart = endsLine
            start = end
        }
    }

    /// Finds the first name on the context stack, innermost first, then walks the rest
    /// of a dotted name inside that value only (a broken chain renders nothing). Frames are
    /// read in place: copying one retained its value, for every frame a lookup passed.
    @inline(__always)
    private func find(_ path: Int, in program: Program) -> Found {
        let name = program.names[path]
        if name.firstID < 0 { return stack.last.map { .copied($0.value) } ?? .missing }
        let found = stack.withUnsafeBufferPointer { frames -> Found in
            var i = frames.count - 1
            while i >= 0 {
                if let values = frames[i].values {
                    let ids = frames[i].ids
                    var at = 0
                    while at < ids.count && ids[at] != name.firstID { at += 1 }
                    if at < ids.count { return .member(values + at) }
                } else if case .object(let members) = frames[i].value, let value = members[program.paths[path].first] {
                    return .copied(value)
                }
                i -= 1
            }
            return .missing
        }
        guard name.isDotted else { return found }
        var value: TemplateValue
        switch found {
        case .missing: return .missing
        case .member(let at): value = at.pointee
        case .copied(let copy): value = copy
        }
        for key in program.paths[path].rest {
            guard let next = value[key] else { return .missing }
            value = next
        }
        return .copied(value)
    }

    @inline(__always)
    private static func write(_ value: TemplateValue, escaped: Bool, to out: inout ByteWriter) {
        switch value {
        case .string(let text):
            if escaped {
                HTMLEscape.append(text, to: &out)
            } else {
                out.append(text)
            }
        case .int(let number):
            Self.appendDecimal(number, to: &out)
        case .double(let number):
            out.append(String(number))
        case .bool(let flag):
            out.append(flag ? "true" : "false")
        case .formatted(let formatter, let number):
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: TemplateFormatter.capacity) { buffer in
                let count = min(max(formatter.write(number, buffer), 0), TemplateFormatter.capacity)
                let bytes = UnsafeBufferPointer(rebasing: buffer[0..<count])
                if escaped {
                    HTMLEscape.append(bytes, to: &out)
                } else {
                    out.append(bytes)
                }
            }
        case .null, .list, .object, .record, .rows:
            break
        }
    }
}

extension Renderer {
    /// `n` in decimal, through the formatters' digit writer: numbers fill tables, and
    /// `String(n)` made one string each.
    static func appendDecimal(_ n: Int, to out: inout ByteWriter) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            let count = TemplateFormatter.decimal(Int64(n), into: buffer)
            out.append(UnsafeBufferPointer(rebasing: buffer[0..<count]))
        }
    }
}

enum HTMLEscape {
    /// Appends `text` as UTF-8 with `& < > " '` escaped; runs with nothing to escape are copied in bulk.
    static func append(_ text: String, to out: inout ByteWriter) {
        var text = text
        text.withUTF8 { append($0, to: &out) }
    }

    /// Appends UTF-8 `bytes` with `& < > " '` escaped.
    static func append(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout ByteWriter) {
        var runStart = 0
        for i in 0..<bytes.count where needsEscape(bytes[i]) {
            if runStart < i { out.append(UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
            switch bytes[i] {
            case UInt8(ascii: "&"): out.append(Self.ampersand)
            case UInt8(ascii: "<"): out.append(Self.lessThan)
            case UInt8(ascii: ">"): out.append(Self.greaterThan)
            case UInt8(ascii: "\""): out.append(Self.quote)
            default: out.append(Self.apostrophe)
            }
            runStart = i + 1
        }
        if runStart < bytes.count { out.append(UnsafeBufferPointer(rebasing: bytes[runStart...])) }
    }

    private static let ampersand = Array("&amp;".utf8)
    private static let lessThan = Array("&lt;".utf8)
    private static let greaterThan = Array("&gt;".utf8)
    private static let quote = Array("&quot;".utf8)
    private static let apostrophe = Array("&#39;".utf8)

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
