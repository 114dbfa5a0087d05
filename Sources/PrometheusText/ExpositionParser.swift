import Foundation

/// The one-pass parser behind `Exposition.parse`. It walks the page's bytes line by line and
/// turns only what it keeps (names, label names and values, help texts) into `String`s.
struct ExpositionParser {
    private let base: UnsafePointer<UInt8>
    private let count: Int
    private let format: ExpositionFormat
    private let limits: ExpositionLimits

    /// 1-based number of the line being parsed.
    private var line = 0
    /// Offset of the current line's first byte, for column numbers.
    private var lineStart = 0
    private var sawEOF = false

    private var samples: [Sample] = []
    private var types: [String: MetricType] = [:]
    private var help: [String: String] = [:]
    private var units: [String: String] = [:]
    private var typeLines: [String: Int] = [:]
    private var helpLines: [String: Int] = [:]
    private var unitLines: [String: Int] = [:]
    private var seen: [SeriesKey: SeenSeries] = [:]

    private struct SeenSeries {
        var firstLine: Int
        var timestamp: Int64?
    }

    /// Pages repeat the same names and label values line after line; comparing bytes with the
    /// previous line's is much cheaper than making a new `String` each time.
    private struct CachedText {
        var start: Int
        var count: Int
        var string: String
    }
    private var lastName: CachedText?
    private var labelCache: [CachedText] = []
    private static let labelCacheSlots = 32

    /// `buffer` must not be empty (`Exposition.parse` handles the empty page itself).
    init(buffer: UnsafeBufferPointer<UInt8>, format: ExpositionFormat, limits: ExpositionLimits) {
        self.base = buffer.baseAddress!
        self.count = buffer.count
        self.format = format
        self.limits = limits
    }

    mutating func run() throws(ExpositionError) -> Exposition {
        let maxLine = max(0, limits.maxLineBytes)
        // Growing the series table one doubling at a time rehashes every key again; a count of
        // the lines (capped by the series limit, so a hostile page cannot inflate it) avoids it.
        let expected = min(lineCount(upTo: max(0, limits.maxSeries)), max(0, limits.maxSeries))
        samples.reserveCapacity(expected)
        seen.reserveCapacity(expected)
        var position = 0
        while position < count {
            line += 1
            if sawEOF { throw fail("content after # EOF") }
            let remaining = count - position
            // Look for the line feed only as far as the longest allowed line (plus the feed),
            // so an endless line is rejected after reading maxLineBytes + 1 bytes of it.
            let window = maxLine < remaining ? maxLine + 1 : remaining
            let lineEnd: Int
            if let found = memchr(base + position, 0x0A, window) {
                lineEnd = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
            } else {
                if remaining > maxLine { throw fail("longer than \(limits.maxLineBytes) bytes") }
                lineEnd = count
            }
            var contentEnd = lineEnd
            if contentEnd > position && base[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            lineStart = position
            try parseLine(from: position, to: contentEnd)
            position = lineEnd + 1
        }
        if format == .openMetrics && !sawEOF {
            throw ExpositionError(line: line + 1, message: "no # EOF at the end (OpenMetrics)")
        }
        return Exposition(samples: samples, types: types, help: help, units: units)
    }

    /// Number of line feeds (plus a last unterminated line), counting no further than `limit`.
    private func lineCount(upTo limit: Int) -> Int {
        var lines = 0
        var position = 0
        while position < count && lines < limit {
            guard let found = memchr(base + position, 0x0A, count - position) else { return lines + 1 }
            lines += 1
            position = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found)) + 1
        }
        return lines
    }

    // MARK: Lines

    private mutating func parseLine(from start: Int, to end: Int) throws(ExpositionError) {
        // NUL is a valid UTF-8 character that OpenMetrics allows inside strings; in the 0.0.4
        // text format it is always a sign of a broken page.
        if let problem = ByteText.validate(base, from: start, to: end, rejectNUL: format == .text) {
            switch problem {
            case .invalidUTF8(let offset):
                throw fail("not UTF-8 (byte \(hex(base[offset])) at column \(offset - lineStart + 1))")
            case .nul(let offset):
                throw fail("NUL byte at column \(offset - lineStart + 1)")
            }
        }
        let first = skipBlanks(start, end)
        if first == end { return }
        var last = end
        while last > first && isBlank(base[last - 1]) { last -= 1 }
        if base[first] == UInt8(ascii: "#") {
            try parseComment(from: first + 1, to: last)
        } else {
            try parseSample(from: first, to: last)
        }
    }

    private mutating func parseComment(from start: Int, to end: Int) throws(ExpositionError) {
        let keywordStart = skipBlanks(start, end)
        let keywordEnd = scanToken(keywordStart, end)
        if ByteText.matches(base, keywordStart, keywordEnd, "HELP") {
            try parseHelp(from: keywordEnd, to: end)
        } else if ByteText.matches(base, keywordStart, keywordEnd, "TYPE") {
            try parseType(from: keywordEnd, to: end)
        } else if format == .openMetrics {
            if ByteText.matches(base, keywordStart, keywordEnd, "UNIT") {
                try parseUnit(from: keywordEnd, to: end)
            } else if ByteText.matches(base, keywordStart, keywordEnd, "EOF") {
                if skipBlanks(keywordEnd, end) != end { throw fail("unexpected text after # EOF") }
                sawEOF = true
            } else {
                throw fail("unexpected comment (OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF)")
            }
        }
        // Any other comment in the text format is ignored.
    }

    private mutating func parseHelp(from start: Int, to end: Int) throws(ExpositionError) {
        let (name, nameEnd) = try metricNameToken(from: start, to: end, after: "# HELP")
        let textStart = skipBlanks(nameEnd, end)
        let text = unescape(from: textStart, to: end, quoteEscape: format == .openMetrics)
        if let first = helpLines[name] { throw fail("second HELP line for \(name) (first on line \(first))") }
        try checkMetadataCount(helpLines.count, "HELP")
        helpLines[name] = line
        // OpenMetrics: an empty HELP is as if there were none.
        if !(format == .openMetrics && text.isEmpty) { help[name] = text }
    }

    private mutating func parseType(from start: Int, to end: Int) throws(ExpositionError) {
        let (name, nameEnd) = try metricNameToken(from: start, to: end, after: "# TYPE")
        let wordStart = skipBlanks(nameEnd, end)
        if wordStart == end { throw fail("expected a metric type after # TYPE \(name)") }
        let wordEnd = scanToken(wordStart, end)
        guard let type = metricType(from: wordStart, to: wordEnd) else {
            let expected = format == .text
                ? "counter, gauge, histogram, summary or untyped"
                : "counter, gauge, histogram, gaugehistogram, stateset, info, summary or unknown"
            throw fail("unknown metric type \(quoted(wordStart, wordEnd)) (expected \(expected))")
        }
        if skipBlanks(wordEnd, end) != end {
            throw fail("unexpected text after # TYPE \(name) \(type.rawValue)")
        }
        if let first = typeLines[name] { throw fail("second TYPE line for \(name) (first on line \(first))") }
        try checkMetadataCount(typeLines.count, "TYPE")
        typeLines[name] = line
        types[name] = type
    }

    private func metricType(from start: Int, to end: Int) -> MetricType? {
        switch format {
        case .text:
            // Case-insensitive, like the Go client's text parser.
            for type in [MetricType.counter, .gauge, .histogram, .summary, .untyped] {
                let word = type.rawValue
                if word.utf8.count == end - start
                    && word.utf8.enumerated().allSatisfy({ base[start + $0.offset] | 0x20 == $0.element }) {
                    return type
                }
            }
            return nil
        case .openMetrics:
            for type in [MetricType.counter, .gauge, .histogram, .gaugehistogram, .stateset, .info, .summary, .unknown] {
                let word = type.rawValue
                if word.utf8.count == end - start
                    && word.utf8.enumerated().allSatisfy({ base[start + $0.offset] == $0.element }) {
                    return type
                }
            }
            return nil
        }
    }

    private mutating func parseUnit(from start: Int, to end: Int) throws(ExpositionError) {
        let (name, nameEnd) = try metricNameToken(from: start, to: end, after: "# UNIT")
        let unitStart = skipBlanks(nameEnd, end)
        let unitEnd = scanToken(unitStart, end)
        for k in unitStart..<unitEnd where !isNameChar(base[k]) {
            throw fail("invalid character \(describe(k)) in the unit of \(name)")
        }
        if skipBlanks(unitEnd, end) != end { throw fail("unexpected text after # UNIT \(name)") }
        let unit = string(unitStart, unitEnd)
        if !unit.isEmpty && !name.hasSuffix("_" + unit) {
            throw fail("unit \"\(unit)\" is not a suffix of \(name) (OpenMetrics wants <name>_\(unit))")
        }
        if let first = unitLines[name] { throw fail("second UNIT line for \(name) (first on line \(first))") }
        try checkMetadataCount(unitLines.count, "UNIT")
        unitLines[name] = line
        if !unit.isEmpty { units[name] = unit }
    }

    /// Metadata is bounded like series: a page of a million `# TYPE` lines is as hostile as a
    /// page of a million samples.
    private func checkMetadataCount(_ count: Int, _ keyword: String) throws(ExpositionError) {
        if count >= limits.maxSeries { throw fail("more than \(limits.maxSeries) \(keyword) lines") }
    }

    /// The metric name after `# HELP`, `# TYPE` or `# UNIT`, and where it ends.
    private func metricNameToken(from start: Int, to end: Int,
                                 after keyword: String) throws(ExpositionError) -> (String, Int) {
        let nameStart = skipBlanks(start, end)
        if nameStart == end { throw fail("expected a metric name after \(keyword)") }
        let nameEnd = scanToken(nameStart, end)
        guard isNameStart(base[nameStart]),
              (nameStart + 1..<nameEnd).allSatisfy({ isNameChar(base[$0]) }) else {
            throw fail("invalid metric name \(quoted(nameStart, nameEnd)) after \(keyword)")
        }
        return (string(nameStart, nameEnd), nameEnd)
    }

    // MARK: Samples

    private mutating func parseSample(from start: Int, to end: Int) throws(ExpositionError) {
        guard isNameStart(base[start]) else {
            if base[start] == UInt8(ascii: "{") { throw fail("expected a metric name before the labels") }
            throw fail("expected a metric name, found \(describe(start))")
        }
        var k = start + 1
        while k < end && isNameChar(base[k]) { k += 1 }
        let name = cachedName(start, k)
        if k < end && !isBlank(base[k]) && base[k] != UInt8(ascii: "{") {
            throw fail("invalid character \(describe(k)) in metric name \(quoted(start, scanToken(start, end)))")
        }
        k = skipBlanks(k, end)

        var labels: [Label] = []
        var hadLabels = false
        if k < end && base[k] == UInt8(ascii: "{") {
            hadLabels = true
            k = try parseLabels(from: k + 1, to: end, into: &labels, inExemplar: false)
            k = skipBlanks(k, end)
        }
        if k == end {
            throw fail(hadLabels ? "expected a value after the labels" : "expected a value after the metric name")
        }

        let valueEnd = scanToken(k, end)
        let value = try number(from: k, to: valueEnd, what: "value")
        k = skipBlanks(valueEnd, end)

        var timestamp: Int64?
        if k < end && base[k] != UInt8(ascii: "#") {
            let timestampEnd = scanToken(k, end)
            timestamp = try parseTimestamp(from: k, to: timestampEnd, what: "timestamp")
            k = skipBlanks(timestampEnd, end)
        }
        if k < end {
            if base[k] == UInt8(ascii: "#") {
                guard format == .openMetrics else {
                    throw fail("unexpected '#' after the \(timestamp == nil ? "value" : "timestamp") (the text format has no exemplars or trailing comments)")
                }
                try parseExemplar(from: k + 1, to: end)
            } else {
                throw fail("unexpected text after the timestamp: \(quoted(k, end))")
            }
        }
        try add(name: name, labels: labels, value: value, timestamp: timestamp)
    }

    private mutating func add(name: String, labels: [Label], value: Double,
                              timestamp: Int64?) throws(ExpositionError) {
        if samples.count >= limits.maxSeries { throw fail("more than \(limits.maxSeries) series") }
        var labels = labels
        SeriesKey.sortInPlace(&labels)
        if labels.count > 1 {
            for i in 1..<labels.count where labels[i].name == labels[i - 1].name {
                throw fail("duplicate label name \"\(labels[i].name)\" in \(name)")
            }
        }
        let key = SeriesKey(name: name, labels: labels)
        if let previous = seen.updateValue(SeenSeries(firstLine: line, timestamp: timestamp), forKey: key) {
            // OpenMetrics lets one series carry several points with increasing timestamps.
            if format == .openMetrics, let before = previous.timestamp, let now = timestamp, now > before {
                seen[key] = SeenSeries(firstLine: previous.firstLine, timestamp: now)
            } else {
                throw fail("duplicate series \(SeriesKey.render(name: name, labels: labels)) (first on line \(previous.firstLine))")
            }
        }
        samples.append(Sample(sortedLabels: labels, name: name, value: value, timestampMilliseconds: timestamp))
    }

    /// Parses `name="value", ...}` starting after the `{`; returns the offset after the `}`.
    private mutating func parseLabels(from start: Int, to end: Int, into labels: inout [Label],
                                      inExemplar: Bool) throws(ExpositionError) -> Int {
        let place = inExemplar ? " in the exemplar" : ""
        let unterminated = "missing '}' at the end of the labels\(place)"
        var k = start
        var index = 0
        while true {
            k = skipBlanks(k, end)
            if k == end { throw fail(unterminated) }
            if base[k] == UInt8(ascii: "}") { return k + 1 }

            guard isLabelNameStart(base[k]) else {
                throw fail("expected a label name\(place), found \(describe(k))")
            }
            let nameStart = k
            k += 1
            while k < end && isLabelNameChar(base[k]) { k += 1 }
            let nameEnd = k
            k = skipBlanks(k, end)
            if k == end { throw fail(unterminated) }
            guard base[k] == UInt8(ascii: "=") else {
                throw fail("expected '=' after label name \(string(nameStart, nameEnd))\(place), found \(describe(k))")
            }
            k = skipBlanks(k + 1, end)
            if k == end { throw fail(unterminated) }
            guard base[k] == UInt8(ascii: "\"") else {
                throw fail("expected a quoted value after \(string(nameStart, nameEnd))=\(place), found \(describe(k))")
            }
            k += 1
            let valueStart = k
            var escaped = false
            while k < end && base[k] != UInt8(ascii: "\"") {
                if base[k] == UInt8(ascii: "\\") {
                    escaped = true
                    if k + 1 == end {
                        k = end
                        break
                    }
                    let next = base[k + 1]
                    if format == .text && next != UInt8(ascii: "\\") && next != UInt8(ascii: "\"")
                        && next != UInt8(ascii: "n") {
                        throw fail("bad escape \\\(scalarText(at: k + 1)) in label value")
                    }
                    k += 2
                } else {
                    k += 1
                }
            }
            if k >= end {
                throw fail("unterminated label value for \(string(nameStart, nameEnd))\(place) (missing closing \")")
            }
            let valueEnd = k
            k += 1

            if labels.count >= limits.maxLabels { throw fail("more than \(limits.maxLabels) labels\(place)") }
            let name: String
            let value: String
            if inExemplar {
                name = string(nameStart, nameEnd)
                value = escaped ? unescape(from: valueStart, to: valueEnd, quoteEscape: true) : string(valueStart, valueEnd)
            } else {
                name = cachedText(slot: 2 * index, nameStart, nameEnd, escaped: false)
                value = cachedText(slot: 2 * index + 1, valueStart, valueEnd, escaped: escaped)
            }
            labels.append(Label(name: name, value: value))
            index += 1

            k = skipBlanks(k, end)
            if k == end { throw fail(unterminated) }
            if base[k] == UInt8(ascii: ",") {
                k += 1
                continue
            }
            if base[k] == UInt8(ascii: "}") { return k + 1 }
            throw fail("expected ',' or '}' after the value of label \(name)\(place), found \(describe(k))")
        }
    }

    /// ` # {labels} value [timestamp]` after a sample (OpenMetrics). Checked, then dropped:
    /// Trainyard has no use for exemplars.
    private mutating func parseExemplar(from start: Int, to end: Int) throws(ExpositionError) {
        var k = skipBlanks(start, end)
        guard k < end, base[k] == UInt8(ascii: "{") else {
            throw fail("expected '{' after '#' (an exemplar starts with its labels)")
        }
        var labels: [Label] = []
        k = try parseLabels(from: k + 1, to: end, into: &labels, inExemplar: true)
        SeriesKey.sortInPlace(&labels)
        if labels.count > 1 {
            for i in 1..<labels.count where labels[i].name == labels[i - 1].name {
                throw fail("duplicate label name \"\(labels[i].name)\" in the exemplar")
            }
        }
        k = skipBlanks(k, end)
        if k == end { throw fail("expected a value after the exemplar's labels") }
        let valueEnd = scanToken(k, end)
        _ = try number(from: k, to: valueEnd, what: "exemplar value")
        k = skipBlanks(valueEnd, end)
        if k < end {
            let timestampEnd = scanToken(k, end)
            _ = try parseTimestamp(from: k, to: timestampEnd, what: "exemplar timestamp")
            k = skipBlanks(timestampEnd, end)
        }
        if k < end { throw fail("unexpected text after the exemplar: \(quoted(k, end))") }
    }

    // MARK: Numbers

    private func number(from start: Int, to end: Int, what: String) throws(ExpositionError) -> Double {
        switch ByteText.parseDouble(base, from: start, to: end) {
        case .value(let value):
            return value
        case .outOfRange:
            throw fail("\(what) \(quoted(start, end)) is out of range for a float64")
        case .invalid:
            throw fail("invalid \(what) \(quoted(start, end)) (expected a number, +Inf, -Inf or NaN)")
        }
    }

    /// Text format: integer milliseconds. OpenMetrics: float seconds, stored as milliseconds.
    private func parseTimestamp(from start: Int, to end: Int, what: String) throws(ExpositionError) -> Int64 {
        switch format {
        case .text:
            guard let milliseconds = ByteText.parseInt64(base, from: start, to: end) else {
                throw fail("invalid \(what) \(quoted(start, end)) (expected integer milliseconds)")
            }
            return milliseconds
        case .openMetrics:
            guard case .value(let seconds) = ByteText.parseDouble(base, from: start, to: end),
                  seconds.isFinite else {
                throw fail("invalid \(what) \(quoted(start, end)) (expected seconds since the epoch)")
            }
            let milliseconds = (seconds * 1000).rounded()
            guard abs(milliseconds) < 9.2e18 else {
                throw fail("\(what) \(quoted(start, end)) is out of range")
            }
            return Int64(milliseconds)
        }
    }

    // MARK: Strings

    private func string(_ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self)
    }

    private mutating func cachedName(_ start: Int, _ end: Int) -> String {
        if let last = lastName, last.count == end - start, memcmp(base + last.start, base + start, last.count) == 0 {
            return last.string
        }
        let name = string(start, end)
        lastName = CachedText(start: start, count: end - start, string: name)
        return name
    }

    /// Same raw bytes give the same decoded text, so escaped values can be cached too.
    private mutating func cachedText(slot: Int, _ start: Int, _ end: Int, escaped: Bool) -> String {
        if slot < labelCache.count {
            let cached = labelCache[slot]
            if cached.count == end - start && memcmp(base + cached.start, base + start, cached.count) == 0 {
                return cached.string
            }
        }
        let text = escaped ? unescape(from: start, to: end, quoteEscape: true) : string(start, end)
        let entry = CachedText(start: start, count: end - start, string: text)
        if slot < labelCache.count {
            labelCache[slot] = entry
        } else if slot == labelCache.count && slot < Self.labelCacheSlots {
            labelCache.append(entry)
        }
        return text
    }

    /// Resolves `\\`, `\n` and (when `quoteEscape`) `\"`; any other backslash is kept as
    /// written (label values of the text format never get here with one).
    private func unescape(from start: Int, to end: Int, quoteEscape: Bool) -> String {
        guard memchr(base + start, 0x5C, end - start) != nil else { return string(start, end) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(end - start)
        var k = start
        while k < end {
            let byte = base[k]
            if byte == 0x5C && k + 1 < end {
                let next = base[k + 1]
                if next == 0x5C { bytes.append(0x5C); k += 2; continue }
                if next == UInt8(ascii: "n") { bytes.append(0x0A); k += 2; continue }
                if next == 0x22 && quoteEscape { bytes.append(0x22); k += 2; continue }
            }
            bytes.append(byte)
            k += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: Bytes

    private func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    private func isNameStart(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- 0x61 < 26 || byte == 0x5F || byte == 0x3A
    }

    private func isNameChar(_ byte: UInt8) -> Bool { isNameStart(byte) || byte &- 0x30 < 10 }

    private func isLabelNameStart(_ byte: UInt8) -> Bool { (byte | 0x20) &- 0x61 < 26 || byte == 0x5F }

    private func isLabelNameChar(_ byte: UInt8) -> Bool { isLabelNameStart(byte) || byte &- 0x30 < 10 }

    private func skipBlanks(_ start: Int, _ end: Int) -> Int {
        var k = start
        while k < end && isBlank(base[k]) { k += 1 }
        return k
    }

    /// End of the run of non-blank bytes starting at `start`.
    private func scanToken(_ start: Int, _ end: Int) -> Int {
        var k = start
        while k < end && !isBlank(base[k]) { k += 1 }
        return k
    }

    // MARK: Messages

    private func fail(_ message: String) -> ExpositionError {
        ExpositionError(line: line, message: message)
    }

    private func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "0x\(digits[Int(byte >> 4)])\(digits[Int(byte & 0x0F)])"
    }

    /// The (valid UTF-8) character starting at `offset`, as text.
    private func scalarText(at offset: Int) -> String {
        let byte = base[offset]
        let length = byte < 0x80 ? 1 : byte < 0xE0 ? 2 : byte < 0xF0 ? 3 : 4
        return string(offset, min(offset + length, count))
    }

    /// How to name the byte at `offset` in a message.
    private func describe(_ offset: Int) -> String {
        let byte = base[offset]
        switch byte {
        case 0: return "a NUL byte"
        case 0x09: return "a tab"
        case 0x20: return "a space"
        case 0x21...0x7E: return "'\(Character(Unicode.Scalar(byte)))'"
        case 0x80...: return "'\(scalarText(at: offset))'"
        default: return "byte \(hex(byte))"
        }
    }

    /// The bytes between `start` and `end` in quotes, cut to 64 bytes for the message.
    private func quoted(_ start: Int, _ end: Int) -> String {
        var cut = end
        var suffix = ""
        if end - start > 64 {
            cut = start + 64
            while cut > start && base[cut] & 0xC0 == 0x80 { cut -= 1 }
            suffix = "…"
        }
        var text = ""
        for scalar in string(start, cut).unicodeScalars {
            if scalar.value < 0x20 || scalar == "\"" || scalar == "\\" {
                text += scalar.escaped(asASCII: false)
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
        return "\"\(text)\(suffix)\""
    }
}
