import Foundation
import TemplateEngine

/// How numbers, times and durations are written on pages, in one place.
enum Format {
    /// "2026-11-23T17:26:05Z".
    static func iso(_ date: Date) -> String { written(date, withSeconds: true) }

    /// "2026-11-23 17:26 UTC", shown on hover.
    static func exact(_ date: Date) -> String { written(date, withSeconds: false) }

    /// Both forms, written into the string's own storage: gmtime_r is thread-safe and cheap
    /// where a shared formatter is neither.
    private static func written(_ date: Date, withSeconds: Bool) -> String {
        String(unsafeUninitializedCapacity: TemplateFormatter.capacity) { written(seconds(date), withSeconds: withSeconds, into: $0) }
    }

    /// The same two forms written by the renderer into the page, from whole seconds: a table
    /// prints both on every row, and as strings each was a heap allocation.
    static let isoFormatter = TemplateFormatter { written($0, withSeconds: true, into: $1) }
    static let exactFormatter = TemplateFormatter { written($0, withSeconds: false, into: $1) }

    /// Whole seconds since 1970, rounded down; times beyond any calendar are held at its ends.
    static func seconds(_ date: Date) -> Int64 {
        let t = date.timeIntervalSince1970.rounded(.down)
        guard t.isFinite else { return t > 0 ? Int64.max / 2 : Int64.min / 2 }
        return Int64(max(min(t, 1e15), -1e15))
    }

    /// Writes "2026-11-23T17:26:05Z" or "2026-11-23 17:26 UTC" (a year past 9999 as itself);
    /// needs 32 bytes of room, returns how many it wrote.
    private static func written(_ seconds: Int64, withSeconds: Bool, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var i = 0
        func put(_ byte: UInt8) { buffer[i] = byte; i += 1 }
        func two(_ n: Int32) { put(UInt8(48 + n / 10)); put(UInt8(48 + n % 10)) }
        var t = time_t(seconds)
        var parts = tm()
        let year = gmtime_r(&t, &parts) == nil ? Int(seconds / 31_556_952) + 1970 : Int(parts.tm_year) + 1900
        guard (0...9999).contains(year) else {
            for byte in (withSeconds ? "\(year)" : "year \(year)").utf8 { put(byte) }
            return i
        }
        two(Int32(year / 100)); two(Int32(year % 100))
        put(UInt8(ascii: "-")); two(parts.tm_mon + 1); put(UInt8(ascii: "-")); two(parts.tm_mday)
        put(withSeconds ? UInt8(ascii: "T") : UInt8(ascii: " "))
        two(parts.tm_hour); put(UInt8(ascii: ":")); two(parts.tm_min)
        if withSeconds {
            put(UInt8(ascii: ":")); two(parts.tm_sec); put(UInt8(ascii: "Z"))
        } else {
            for byte in " UTC".utf8 { put(byte) }
        }
        return i
    }

    static func relative(_ date: Date, now: Date) -> String {
        let seconds = Int(now.timeIntervalSince(date))
        if seconds < 45 { return "just now" }
        if seconds < 90 { return "1 minute ago" }
        let minutes = seconds / 60
        if minutes < 60 { return "\(minutes) minutes ago" }
        let hours = minutes / 60
        if hours < 2 { return "1 hour ago" }
        if hours < 24 { return "\(hours) hours ago" }
        let days = hours / 24
        if days < 2 { return "yesterday" }
        if days < 31 { return "\(days) days ago" }
        return exact(date)
    }

    /// `{relative, exact, iso}` for a `<time>` element.
    static func timestamp(_ date: Date, now: Date) -> TemplateValue {
        var values: [TemplateValue] = []
        values.reserveCapacity(3)
        appendTimestamp(date, now: now, to: &values)
        return .record(timeKeys, values)
    }

    private static let timeKeys = TemplateKeys(["relative", "exact", "iso"])

    /// `timestamp`'s three values appended in its order, for a row that holds them itself.
    static func appendTimestamp(_ date: Date, now: Date, to values: inout [TemplateValue]) {
        let whole = seconds(date)
        values.append(.string(relative(date, now: now)))
        values.append(.formatted(exactFormatter, whole))
        values.append(.formatted(isoFormatter, whole))
    }

    /// "42 s", "3 min 5 s", "2 h 10 min", "3 days".
    static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded()))
        if s < 60 { return "\(s) s" }
        if s < 3600 { return s % 60 == 0 ? "\(s / 60) min" : "\(s / 60) min \(s % 60) s" }
        let h = s / 3600, m = (s % 3600) / 60
        if h < 48 { return m == 0 ? "\(h) h" : "\(h) h \(m) min" }
        return "\(h / 24) days"
    }

    /// A short number for axis ticks and compact figures: "0.25", "12.5", "340", "1.2k", "45k", "3.1M".
    static func compact(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1_000_000 { return printed(v / 1_000_000, "%.1fM", trimmed: true) }
        if a >= 10_000 { return printed(v / 1000, "%.0fk", trimmed: true) }
        if a >= 1000 { return printed(v / 1000, "%.1fk", trimmed: true) }
        if a >= 100 || a == 0 { return printed(v, "%.0f") }
        if a >= 10 { return printed(v, "%.1f", trimmed: true) }
        return printed(v, "%.2f", trimmed: true)
    }

    /// `String(format: format, v)` through C's `snprintf` into a stack buffer: the same digits
    /// (C's correctly rounded `%f`), without Foundation's format parser, which made a chart's
    /// tick labels a tenth of a monitor page's time. `format` is one double's conversion with
    /// at most a literal suffix. `trimmed` drops a fraction's trailing zeros (and its point)
    /// before a one-letter suffix, in the buffer: "12.50k" → "12.5k", "3.00" → "3".
    static func printed(_ v: Double, _ format: StaticString, trimmed: Bool = false) -> String {
        var buffer: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &buffer) { bytes in
            let chars = bytes.baseAddress!.assumingMemoryBound(to: CChar.self)
            let written = withVaList([v]) { arguments in
                format.withUTF8Buffer { format in
                    format.withMemoryRebound(to: CChar.self) { vsnprintf(chars, bytes.count, $0.baseAddress!, arguments) }
                }
            }
            // Larger than 64 bytes only for |v| near 1e60 and up: Foundation's, trimmed the same way.
            guard written >= 0, Int(written) < bytes.count else {
                var text = Array(String(format: format.description, v).utf8)
                let count = trimmed ? text.withUnsafeMutableBytes { trimZeros($0, count: $0.count) } : text.count
                return String(decoding: text[0..<count], as: UTF8.self)
            }
            let count = trimmed ? trimZeros(bytes, count: Int(written)) : Int(written)
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<count]), as: UTF8.self)
        }
    }

    /// The length of `bytes[0..<count]` with a fraction's trailing zeros and bare point removed,
    /// a last ASCII letter (a unit such as k or M) moved up behind what is left.
    private static func trimZeros(_ bytes: UnsafeMutableRawBufferPointer, count: Int) -> Int {
        guard count > 0, bytes[0..<count].contains(UInt8(ascii: ".")) else { return count }
        var end = count
        let last = bytes[end - 1]
        let suffix: UInt8? = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(last | 0x20) ? last : nil
        if suffix != nil { end -= 1 }
        while end > 0 && bytes[end - 1] == UInt8(ascii: "0") { end -= 1 }
        if end > 0 && bytes[end - 1] == UInt8(ascii: ".") { end -= 1 }
        if let suffix {
            bytes[end] = suffix
            end += 1
        }
        return end
    }

    /// A whole number with thousands separated: "65,536".
    static func grouped(_ n: Int) -> String {
        let digits = String(abs(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// A training learning rate as people write it: "0.002" from 0.001 up, "3e-4" below.
    static func learningRate(_ rate: Double) -> String {
        if rate >= 0.001 { return String(format: "%g", rate) }
        return String(format: "%.0e", rate).replacingOccurrences(of: "e-0", with: "e-")
    }

    /// Requests per second: whole numbers from 100, one decimal below.
    static func requestsPerSecond(_ rps: Double) -> String {
        rps >= 100 ? fixed(rps, 0) : fixed(rps, 1)
    }

    /// "182 ms", "1.25 s".
    static func milliseconds(_ ms: Double) -> String {
        ms >= 1000 ? fixed(ms / 1000, 2, suffix: " s") : fixed(ms, 0, suffix: " ms")
    }

    /// A fraction as a percentage with two decimals: "0.31 %".
    static func percent(_ fraction: Double) -> String {
        fixed(fraction * 100, 2, suffix: " %")
    }

    /// "16 GB" for whole gigabytes, else "1536 MB".
    static func memory(megabytes mb: Int) -> String {
        mb % 1024 == 0 ? "\(mb / 1024) GB" : "\(mb) MB"
    }

    /// `value` rounded to `decimals` places (0–3), then `suffix`, written into the string's own
    /// storage: a table formats three figures a row, and joining the parts as strings was a
    /// tenth of building its rows.
    static func fixed(_ value: Double, _ decimals: Int, suffix: StaticString = "") -> String {
        guard value.isFinite else { return "—" }
        let places = min(max(decimals, 0), 3)
        let scale: Int64 = places == 0 ? 1 : places == 1 ? 10 : places == 2 ? 100 : 1000
        let magnitude = (abs(value) * Double(scale)).rounded()
        // Past Int64 the figure is not a table's; it is written as Swift writes doubles.
        guard magnitude < 9.0e18 else { return "\(value)" + suffix.description }
        let scaled = Int64(magnitude)
        // Written on the stack, then copied: a string made with room for more than 15 bytes is
        // on the heap, where the figure itself (almost always shorter) fits inline.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32 + suffix.utf8CodeUnitCount) { buffer in
            var at = 0
            if value < 0 && scaled != 0 {
                buffer[at] = UInt8(ascii: "-")
                at += 1
            }
            at += TemplateFormatter.decimal(scaled / scale, into: UnsafeMutableBufferPointer(rebasing: buffer[at...]))
            if places > 0 {
                buffer[at] = UInt8(ascii: ".")
                var fraction = scaled % scale
                for i in stride(from: places, to: 0, by: -1) {
                    buffer[at + i] = UInt8(ascii: "0") + UInt8(fraction % 10)
                    fraction /= 10
                }
                at += places + 1
            }
            suffix.withUTF8Buffer { bytes in
                for byte in bytes {
                    buffer[at] = byte
                    at += 1
                }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<at]), as: UTF8.self)
        }
    }
}

/// Status badges: colour (tone), icon and text together.
protocol BadgeStatus: RawRepresentable, Hashable, CaseIterable where RawValue == String {
    var label: String { get }
    var tone: String { get }
    var icon: String { get }
    /// Every status's badge, built once (`Badge.table`): a table shows one per row.
    static var badges: [Self: TemplateValue] { get }
}

enum Badge {
    static func of<S: BadgeStatus>(_ status: S) -> TemplateValue {
        S.badges[status] ?? make(status)
    }

    static func table<S: BadgeStatus>(_ type: S.Type) -> [S: TemplateValue] {
        Dictionary(uniqueKeysWithValues: S.allCases.map { ($0, make($0)) })
    }

    private static func make<S: BadgeStatus>(_ status: S) -> TemplateValue {
        ["label": .string(status.label), "tone": .string(status.tone), "icon": .string(status.icon), "value": .string(status.rawValue)]
    }
}
