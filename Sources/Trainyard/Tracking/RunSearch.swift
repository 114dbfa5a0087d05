import Foundation
import Storage

/// `runs/search`'s filter and `order_by` in MLflow's grammar, applied to runs in memory:
///
///     metrics.loss < 0.3 AND params.optimizer = 'adam' AND tags.`team` LIKE 'vis%'
///     attributes.status = 'FAILED'    run_name ILIKE '%sweep%'    params.seed IS NOT NULL
///     order_by: ["metrics.loss ASC", "start_time DESC"]
///
/// Clauses are joined by AND only (MLflow has no OR). Metrics compare numerically against
/// their latest value; params, tags and string attributes as text (`LIKE` case-sensitive,
/// `ILIKE` not, `%` and `_` wildcards). A run without the compared key never matches, and sorts
/// last in either direction; ties fall back to `start_time DESC, run_id ASC`.
struct RunSearch {
    enum Entity: Equatable { case metric, param, tag, attribute }

    struct Identifier: Equatable {
        var entity: Entity
        var key: String
    }

    enum Comparison: Equatable {
        case number(String, Double)
        case text(String, String)
        case list(negated: Bool, [String])
        case null(negated: Bool)
    }

    struct Clause: Equatable {
        var identifier: Identifier
        var comparison: Comparison
    }

    struct Order: Equatable {
        var identifier: Identifier
        var ascending: Bool
    }

    var clauses: [Clause]
    var orders: [Order]

    static let stringAttributes: Set<String> = ["run_id", "run_name", "status", "user_id", "artifact_uri", "lifecycle_stage"]
    static let numberAttributes: Set<String> = ["start_time", "end_time"]

    init(filter: String, orderBy: [String]) throws {
        clauses = try Self.parseFilter(filter)
        orders = try orderBy.map(Self.parseOrder)
    }

    // MARK: Applying

    func matches(_ run: TrackedRun) -> Bool {
        clauses.allSatisfy { Self.matches($0, run) }
    }

    /// `runs` in the order asked for, then MLflow's default.
    func sorted(_ runs: [TrackedRun]) -> [TrackedRun] {
        runs.sorted { a, b in
            for order in orders {
                let x = Self.sortValue(order.identifier, a), y = Self.sortValue(order.identifier, b)
                switch (x, y) {
                case (nil, nil): continue
                case (nil, _): return false
                case (_, nil): return true
                case let (x?, y?):
                    if x == y { continue }
                    return order.ascending ? x < y : y < x
                }
            }
            let sa = a.job.startedAt ?? a.job.createdAt, sb = b.job.startedAt ?? b.job.createdAt
            if sa != sb { return sa > sb }
            return (a.job.run?.runID ?? "") < (b.job.run?.runID ?? "")
        }
    }

    /// A comparable value: numbers before text never mix, since a key is one or the other.
    enum SortValue: Comparable {
        case number(Double)
        case text(String)

        static func < (a: SortValue, b: SortValue) -> Bool {
            switch (a, b) {
            case let (.number(x), .number(y)): x.isNaN ? false : (y.isNaN ? true : x < y)
            case let (.text(x), .text(y)): x < y
            case (.number, .text): true
            case (.text, .number): false
            }
        }
    }

    static func sortValue(_ id: Identifier, _ run: TrackedRun) -> SortValue? {
        switch id.entity {
        case .metric: return run.metrics.first { $0.key == id.key }.map { .number($0.latest) }
        case .param: return run.params.first { $0.key == id.key }.map { .text($0.value) }
        case .tag: return run.tags.first { $0.key == id.key }.map { .text($0.value) }
        case .attribute:
            if let n = numberAttribute(id.key, run) { return .number(n) }
            return stringAttribute(id.key, run).map(SortValue.text)
        }
    }

    static func stringAttribute(_ key: String, _ run: TrackedRun) -> String? {
        switch key {
        case "run_id": run.job.run?.runID
        case "run_name": run.job.name
        case "status": TrackingJSON.status(run.job)
        case "user_id": run.userID
        case "artifact_uri": TrackingJSON.artifactURI(run)
        case "lifecycle_stage": "active"
        default: nil
        }
    }

    static func numberAttribute(_ key: String, _ run: TrackedRun) -> Double? {
        switch key {
        case "start_time": Double(SQLTimestamp.milliseconds(run.job.startedAt ?? run.job.createdAt))
        case "end_time":
            run.job.status == .complete || run.job.status == .failed ? run.job.finishedAt.map { Double(SQLTimestamp.milliseconds($0)) } : nil
        default: nil
        }
    }

    static func matches(_ clause: Clause, _ run: TrackedRun) -> Bool {
        let id = clause.identifier
        let text: String?
        var number: Double?
        switch id.entity {
        case .metric: number = run.metrics.first { $0.key == id.key }?.latest; text = nil
        case .param: text = run.params.first { $0.key == id.key }?.value
        case .tag: text = run.tags.first { $0.key == id.key }?.value
        case .attribute: text = stringAttribute(id.key, run); number = numberAttribute(id.key, run)
        }
        switch clause.comparison {
        case .null(let negated):
            return negated ? text != nil : text == nil
        case .number(let op, let value):
            guard let n = number else { return false }
            switch op {
            case "=": return n == value
            case "!=": return n != value
            case "<": return n < value
            case "<=": return n <= value
            case ">": return n > value
            case ">=": return n >= value
            default: return false
            }
        case .text(let op, let value):
            guard let t = text else { return false }
            switch op {
            case "=": return t == value
            case "!=": return t != value
            case "LIKE": return like(t, value)
            case "ILIKE": return like(t.lowercased(), value.lowercased())
            default: return false
            }
        case .list(let negated, let values):
            guard let t = text else { return false }
            return values.contains(t) != negated
        }
    }

    /// SQL LIKE: `%` any run of characters, `_` exactly one.
    static func like(_ text: String, _ pattern: String) -> Bool {
        let t = Array(text), p = Array(pattern)
        var memo: [Int: Bool] = [:]
        func match(_ i: Int, _ j: Int) -> Bool {
            if j == p.count { return i == t.count }
            let key = i * (p.count + 1) + j
            if let known = memo[key] { return known }
            let result: Bool
            switch p[j] {
            case "%": result = match(i, j + 1) || (i < t.count && match(i + 1, j))
            case "_": result = i < t.count && match(i + 1, j + 1)
            default: result = i < t.count && t[i] == p[j] && match(i + 1, j + 1)
            }
            memo[key] = result
            return result
        }
        return match(0, 0)
    }

    // MARK: Parsing

    private struct Scanner {
        let chars: [Character]
        var i = 0

        init(_ text: String) { chars = Array(text) }

        var atEnd: Bool { i >= chars.count }

        mutating func skipSpace() { while !atEnd && chars[i].isWhitespace { i += 1 } }

        /// A quoted run (`'…'`, `"…"` or `` `…` ``); a doubled quote stands for itself.
        mutating func quoted() throws -> String? {
            guard !atEnd, let quote = chars[i] == "'" || chars[i] == "\"" || chars[i] == "`" ? chars[i] : nil else { return nil }
            i += 1
            var out = ""
            while !atEnd {
                if chars[i] == quote {
                    if i + 1 < chars.count && chars[i + 1] == quote { out.append(quote); i += 2; continue }
                    i += 1
                    return out
                }
                out.append(chars[i]); i += 1
            }
            throw TrackingError.invalid("Invalid filter: a quoted value is not closed (\(quote)…).")
        }

        /// A bare word: letters, digits and `_ - : /`, stopping at dots, spaces and operators.
        mutating func word() -> String {
            var out = ""
            while !atEnd, chars[i].isLetter || chars[i].isNumber || "_-:/+".contains(chars[i]) { out.append(chars[i]); i += 1 }
            return out
        }

        mutating func peekKeyword(_ keyword: String) -> Bool {
            let n = keyword.count
            guard i + n <= chars.count, String(chars[i..<(i + n)]).uppercased() == keyword else { return false }
            return i + n == chars.count || !(chars[i + n].isLetter || chars[i + n].isNumber || chars[i + n] == "_")
        }

        mutating func keyword(_ keyword: String) -> Bool {
            guard peekKeyword(keyword) else { return false }
            i += keyword.count
            return true
        }
    }

    static let entityAliases: [String: Entity] = [
        "metric": .metric, "metrics": .metric,
        "param": .param, "params": .param, "parameter": .param, "parameters": .param,
        "tag": .tag, "tags": .tag,
        "attribute": .attribute, "attributes": .attribute, "attr": .attribute, "run": .attribute,
    ]

    static let attributeAliases = ["created": "start_time", "Created": "start_time", "run name": "run_name", "Run name": "run_name", "Run Name": "run_name"]

    private static func identifier(_ s: inout Scanner) throws -> Identifier {
        s.skipSpace()
        let first = try s.quoted() ?? s.word()
        guard !first.isEmpty else { throw TrackingError.invalid("Invalid clause(s) in filter string: expected metrics.<key>, params.<key>, tags.<key> or an attribute.") }
        guard !s.atEnd, s.chars[s.i] == "." else { return try attribute(first) }
        s.i += 1
        // The key is everything up to the comparator, quoted or bare (bare keys may hold dots).
        var key: String
        if let quoted = try s.quoted() { key = quoted } else {
            key = ""
            while !s.atEnd, !s.chars[s.i].isWhitespace, !"<>=!(".contains(s.chars[s.i]) { key.append(s.chars[s.i]); s.i += 1 }
        }
        guard let entity = entityAliases[first.lowercased()] else {
            throw TrackingError.invalid("Invalid entity type '\(first)'. Valid values are ['metric', 'parameter', 'tag', 'attribute']")
        }
        guard !key.isEmpty else { throw TrackingError.invalid("Invalid clause(s) in filter string: '\(first).' names no key.") }
        return entity == .attribute ? try attribute(key) : Identifier(entity: entity, key: key)
    }

    private static func attribute(_ raw: String) throws -> Identifier {
        let key = attributeAliases[raw] ?? raw
        guard stringAttributes.contains(key) || numberAttributes.contains(key) else {
            let valid = (stringAttributes.union(numberAttributes)).sorted().map { "'\($0)'" }.joined(separator: ", ")
            throw TrackingError.invalid("Invalid attribute key '\(raw)' specified. Valid keys are {\(valid)}")
        }
        return Identifier(entity: .attribute, key: key)
    }

    static func parseFilter(_ filter: String) throws -> [Clause] {
        var s = Scanner(filter)
        var clauses: [Clause] = []
        s.skipSpace()
        if s.atEnd { return [] }
        while true {
            let id = try identifier(&s)
            s.skipSpace()
            clauses.append(Clause(identifier: id, comparison: try comparison(&s, for: id)))
            s.skipSpace()
            if s.atEnd { return clauses }
            guard s.keyword("AND") else {
                throw TrackingError.invalid("Invalid clause(s) in filter string: clauses are joined with AND (got '\(String(s.chars[s.i...]).prefix(scalars: 20))').")
            }
        }
    }

    private static func comparison(_ s: inout Scanner, for id: Identifier) throws -> Comparison {
        let isNumeric = id.entity == .metric || (id.entity == .attribute && numberAttributes.contains(id.key))
        if s.keyword("IS") {
            s.skipSpace()
            let negated = s.keyword("NOT")
            s.skipSpace()
            guard s.keyword("NULL") else { throw TrackingError.invalid("Invalid clause(s) in filter string: expected IS NULL or IS NOT NULL.") }
            guard id.entity == .param || id.entity == .tag else {
                throw TrackingError.invalid("IS NULL and IS NOT NULL apply to params and tags only.")
            }
            return .null(negated: negated)
        }
        var op = ""
        if s.keyword("LIKE") { op = "LIKE" } else if s.keyword("ILIKE") { op = "ILIKE" } else if s.keyword("IN") { op = "IN" } else if s.peekKeyword("NOT") {
            _ = s.keyword("NOT"); s.skipSpace()
            guard s.keyword("IN") else { throw TrackingError.invalid("Invalid comparator 'NOT': did you mean NOT IN?") }
            op = "NOT IN"
        } else {
            while !s.atEnd, "<>=!~".contains(s.chars[s.i]) { op.append(s.chars[s.i]); s.i += 1 }
        }
        let numeric: Set<String> = ["=", "!=", "<", "<=", ">", ">="]
        let textual: Set<String> = ["=", "!=", "LIKE", "ILIKE"]
        s.skipSpace()
        if isNumeric {
            guard numeric.contains(op) else {
                throw TrackingError.invalid("Invalid comparator '\(op)' not one of '{'!=', '<', '<=', '=', '>', '>='}'")
            }
            var literal = ""
            while !s.atEnd, s.chars[s.i].isNumber || "+-.eE".contains(s.chars[s.i]) { literal.append(s.chars[s.i]); s.i += 1 }
            guard let value = Double(literal) else {
                throw TrackingError.invalid("Expected numeric value type for \(id.entity == .metric ? "metric" : "numeric attribute"). Found \(literal.isEmpty ? "nothing" : literal)")
            }
            return .number(op, value)
        }
        if op == "IN" || op == "NOT IN" {
            guard id.entity == .attribute && id.key == "run_id" else {
                throw TrackingError.invalid("Only ['run_id'] attributes support comparison with a list of quoted string values.")
            }
            guard !s.atEnd, s.chars[s.i] == "(" else { throw TrackingError.invalid("Expected a list of quoted strings after \(op), like ('a', 'b').") }
            s.i += 1
            var values: [String] = []
            while true {
                s.skipSpace()
                guard let value = try s.quoted() else { throw TrackingError.invalid("Expected a quoted string in the \(op) list.") }
                values.append(value)
                s.skipSpace()
                if !s.atEnd, s.chars[s.i] == "," { s.i += 1; continue }
                guard !s.atEnd, s.chars[s.i] == ")" else { throw TrackingError.invalid("The \(op) list is not closed with ')'.") }
                s.i += 1
                return .list(negated: op == "NOT IN", values)
            }
        }
        guard textual.contains(op) else {
            throw TrackingError.invalid("Invalid comparator '\(op)' not one of '{'!=', '=', 'ILIKE', 'LIKE'}'")
        }
        guard let value = try s.quoted() else {
            let kind = id.entity == .param ? "parameter" : id.entity == .tag ? "tag" : "attribute"
            throw TrackingError.invalid("Expected a quoted string value for \(kind) (e.g. 'my-value'). Got value \(s.word())")
        }
        return .text(op, value)
    }

    static func parseOrder(_ text: String) throws -> Order {
        var s = Scanner(text)
        let id = try identifier(&s)
        s.skipSpace()
        var ascending = true
        if s.keyword("DESC") { ascending = false } else if s.keyword("ASC") { ascending = true }
        s.skipSpace()
        guard s.atEnd else { throw TrackingError.invalid("Invalid ordering key in order_by clause '\(text)'.") }
        return Order(identifier: id, ascending: ascending)
    }
}

