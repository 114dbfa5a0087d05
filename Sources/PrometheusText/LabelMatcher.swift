import Foundation

/// Why a label matcher list was rejected, phrased for the person who typed it.
public struct LabelMatcherError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// One PromQL-style label matcher (`code="500"`, `status=~"5.."`), used to pick the error
/// series out of a requests counter when the target has no separate failure counter.
public struct LabelMatcher: Equatable, Sendable, Codable, CustomStringConvertible {
    public enum Op: String, Sendable, Codable {
        case equal = "="
        case notEqual = "!="
        case matches = "=~"
        case notMatches = "!~"
    }

    public var name: String
    public var op: Op { didSet { regex = try? Self.compile(op: op, value: value) } }
    public var value: String { didSet { regex = try? Self.compile(op: op, value: value) } }

    /// The compiled, anchored regex for `=~` and `!~`; nil for the other ops (or when `value`
    /// was later set to an invalid regex, in which case the matcher matches nothing).
    private var regex: CompiledRegex?

    /// Throws for a label name that is not `[a-zA-Z_][a-zA-Z0-9_]*` or an invalid regex, so a
    /// bad matcher is caught when it is saved, not when it silently matches nothing.
    public init(name: String, op: Op, value: String) throws(LabelMatcherError) {
        guard Self.isLabelName(name) else {
            throw LabelMatcherError(message: "\"\(name)\" is not a valid label name")
        }
        self.name = name
        self.op = op
        self.value = value
        self.regex = try Self.compile(op: op, value: value)
    }

    /// Prometheus semantics: a label the series does not have counts as `""`, so
    /// `method!="GET"` matches series without `method` and `method=~".*"` matches all. Regexes
    /// must match the whole value (`5..` matches `500`, not `5000`), and `.` also matches a line
    /// feed, as in Prometheus 3.
    public func matches(_ labels: [Label]) -> Bool {
        let actual = labels.first(where: { $0.name == name })?.value ?? ""
        switch op {
        case .equal: return actual.utf8.elementsEqual(value.utf8)
        case .notEqual: return !actual.utf8.elementsEqual(value.utf8)
        case .matches: return regex?.fullyMatches(actual) ?? false
        case .notMatches: return !(regex?.fullyMatches(actual) ?? true)
        }
    }

    /// `name=~"value"`, in the syntax `parseList` reads.
    public var description: String {
        var quoted = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": quoted += "\\\\"
            case "\"": quoted += "\\\""
            case "\n": quoted += "\\n"
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return "\(name)\(op.rawValue)\"\(quoted)\""
    }

    public static func == (lhs: LabelMatcher, rhs: LabelMatcher) -> Bool {
        lhs.name == rhs.name && lhs.op == rhs.op && lhs.value == rhs.value
    }

    private enum CodingKeys: String, CodingKey { case name, op, value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let name = try container.decode(String.self, forKey: .name)
        let op = try container.decode(Op.self, forKey: .op)
        let value = try container.decode(String.self, forKey: .value)
        do {
            try self.init(name: name, op: op, value: value)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(op, forKey: .op)
        try container.encode(value, forKey: .value)
    }

    /// Parses `status=~"5.."`, `code="500",method!="GET"` or the same in braces `{...}`.
    /// Values are quoted with `"`, `'` or backticks (raw) as in PromQL, with Go's escapes
    /// (`\\`, `\"`, `\'`, `\n`, `\t`, `\r`, `\a`, `\b`, `\f`, `\v`); a trailing comma and
    /// blanks between tokens are fine. An empty text (or `{}`) is an empty list.
    public static func parseList(_ text: String) throws -> [LabelMatcher] {
        try parseMatcherList(text)
    }

    /// `parseList` with its error type spelled out.
    public static func parseMatcherList(_ text: String) throws(LabelMatcherError) -> [LabelMatcher] {
        var reader = MatcherListReader(Array(text.utf8))
        return try reader.read()
    }

    static func isLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLabelNameStart(first) else { return false }
        return name.utf8.dropFirst().allSatisfy { isLabelNameStart($0) || $0 &- 0x30 < 10 }
    }

    fileprivate static func isLabelNameStart(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- 0x61 < 26 || byte == 0x5F
    }

    private static func compile(op: Op, value: String) throws(LabelMatcherError) -> CompiledRegex? {
        switch op {
        case .equal, .notEqual: return nil
        case .matches, .notMatches: return try CompiledRegex(value)
        }
    }
}

/// An `NSRegularExpression` anchored at both ends. `NSRegularExpression` is immutable and
/// documented as safe to share between threads, hence `@unchecked Sendable`.
private final class CompiledRegex: @unchecked Sendable {
    let expression: NSRegularExpression

    init(_ pattern: String) throws(LabelMatcherError) {
        // Compile the bare pattern first: wrapping an unbalanced one like `a)|(b` in a group
        // would make it valid with a different meaning.
        do {
            _ = try NSRegularExpression(pattern: pattern)
            expression = try NSRegularExpression(pattern: "\\A(?:\(pattern))\\z", options: [.dotMatchesLineSeparators])
        } catch {
            throw LabelMatcherError(message: "invalid regular expression \"\(pattern)\"")
        }
    }

    func fullyMatches(_ text: String) -> Bool {
        let range = NSRange(text.startIndex..<text.endIndex, in: text)
        return expression.firstMatch(in: text, options: [], range: range) != nil
    }
}

/// A small hand-written reader for the matcher list syntax.
private struct MatcherListReader {
    let bytes: [UInt8]
    var i = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func read() throws(LabelMatcherError) -> [LabelMatcher] {
        var end = bytes.count
        skipBlanks()
        while end > i && isBlank(bytes[end - 1]) { end -= 1 }
        var braced = false
        if i < end && bytes[i] == UInt8(ascii: "{") {
            guard bytes[end - 1] == UInt8(ascii: "}"), end - 1 > i else {
                throw LabelMatcherError(message: "missing '}' at the end of the matchers")
            }
            braced = true
            i += 1
            end -= 1
        }
        var matchers: [LabelMatcher] = []
        while true {
            skipBlanks(end)
            if i == end { break }
            let nameStart = i
            guard LabelMatcher.isLabelNameStart(bytes[i]) else {
                throw error("expected a label name", at: i)
            }
            while i < end && (LabelMatcher.isLabelNameStart(bytes[i]) || bytes[i] &- 0x30 < 10) { i += 1 }
            let name = String(decoding: bytes[nameStart..<i], as: UTF8.self)
            skipBlanks(end)
            let op = try readOp(end, after: name)
            skipBlanks(end)
            let value = try readString(end, after: "\(name)\(op.rawValue)")
            matchers.append(try LabelMatcher(name: name, op: op, value: value))
            skipBlanks(end)
            if i == end { break }
            guard bytes[i] == UInt8(ascii: ",") else {
                if !braced && bytes[i] == UInt8(ascii: "}") {
                    throw error("unexpected '}' (missing '{'?)", at: i)
                }
                throw error("expected ',' between matchers", at: i)
            }
            i += 1
        }
        return matchers
    }

    private mutating func readOp(_ end: Int, after name: String) throws(LabelMatcherError) -> LabelMatcher.Op {
        func at(_ k: Int) -> UInt8? { k < end ? bytes[k] : nil }
        let eq = UInt8(ascii: "="), bang = UInt8(ascii: "!"), tilde = UInt8(ascii: "~")
        switch (at(i), at(i + 1)) {
        case (eq, tilde): i += 2; return .matches
        case (bang, tilde): i += 2; return .notMatches
        case (bang, eq): i += 2; return .notEqual
        case (eq, _): i += 1; return .equal
        default: throw error("expected =, !=, =~ or !~ after \(name)", at: i)
        }
    }

    private mutating func readString(_ end: Int, after prefix: String) throws(LabelMatcherError) -> String {
        guard i < end else { throw error("expected a quoted value after \(prefix)", at: i) }
        let quote = bytes[i]
        guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") || quote == UInt8(ascii: "`") else {
            throw error("expected a quoted value after \(prefix)", at: i)
        }
        let start = i
        i += 1
        var out: [UInt8] = []
        while i < end && bytes[i] != quote {
            if bytes[i] == UInt8(ascii: "\\") && quote != UInt8(ascii: "`") {
                guard i + 1 < end else { break }
                let next = bytes[i + 1]
                let replacement: UInt8?
                switch next {
                case UInt8(ascii: "\\"): replacement = 0x5C
                case UInt8(ascii: "\""): replacement = 0x22
                case UInt8(ascii: "'"): replacement = 0x27
                case UInt8(ascii: "n"): replacement = 0x0A
                case UInt8(ascii: "t"): replacement = 0x09
                case UInt8(ascii: "r"): replacement = 0x0D
                case UInt8(ascii: "a"): replacement = 0x07
                case UInt8(ascii: "b"): replacement = 0x08
                case UInt8(ascii: "f"): replacement = 0x0C
                case UInt8(ascii: "v"): replacement = 0x0B
                default: replacement = nil
                }
                guard let replacement else {
                    let shown = String(decoding: bytes[(i + 1)..<min(i + 2, end)], as: UTF8.self)
                    throw error("unknown escape \\\(shown) in \(prefix)… (write \\\\\(shown) for a regex backslash)", at: i)
                }
                out.append(replacement)
                i += 2
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        guard i < end else {
            throw error("unterminated value after \(prefix) (missing closing \(Character(Unicode.Scalar(quote))))", at: start)
        }
        i += 1
        return String(decoding: out, as: UTF8.self)
    }

    private func isBlank(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private mutating func skipBlanks(_ end: Int? = nil) {
        let limit = end ?? bytes.count
        while i < limit && isBlank(bytes[i]) { i += 1 }
    }

    private func error(_ message: String, at offset: Int) -> LabelMatcherError {
        LabelMatcherError(message: "\(message) (at column \(offset + 1))")
    }
}
