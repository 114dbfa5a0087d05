import Foundation

/// Timestamp conversions shared by both drivers and by `Row`.
///
/// Storage keeps millisecond precision everywhere: SQLite stores INTEGER unix milliseconds and
/// PostgreSQL TIMESTAMPTZ values are sent as ISO-8601 text with milliseconds and `Z`.
/// Hand-written because Foundation's formatters are slow on hot pages and not thread-safe to share.
public enum SQLTimestamp {
    /// Unix milliseconds, rounded (a `Date` built from `…​.123` seconds is not exactly representable).
    public static func milliseconds(_ date: Date) -> Int64 {
        let ms = (date.timeIntervalSince1970 * 1000).rounded()
        if ms >= Double(Int64.max) { return Int64.max }
        if ms <= Double(Int64.min) { return Int64.min }
        return Int64(ms)
    }

    /// The date for unix milliseconds.
    public static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// `2024-05-01T12:30:05.123Z`.
    public static func iso8601(_ date: Date) -> String {
        let ms = milliseconds(date)
        var days = ms / 86_400_000
        var rem = ms % 86_400_000
        if rem < 0 { rem += 86_400_000; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        let h = rem / 3_600_000, mi = (rem / 60_000) % 60, s = (rem / 1000) % 60, f = rem % 1000
        var out = ""
        out.reserveCapacity(24)
        if y < 0 || y > 9999 {
            out += y < 0 ? "-" : "+"
            out += pad(abs(y), 6)
        } else {
            out += pad(y, 4)
        }
        out += "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(h, 2) + ":" + pad(mi, 2) + ":" + pad(s, 2)
        out += "." + pad(f, 3) + "Z"
        return out
    }

    /// Parses ISO-8601 (`T` or space separator, optional fraction, `Z` or `±HH[:MM]` offset, or
    /// none = UTC) as written by PostgreSQL in `DateStyle=ISO`, and plain `YYYY-MM-DD`.
    /// `infinity`/`-infinity` map to `Date.distantFuture`/`distantPast`.
    public static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { parse(utf8: $0) }
    }

    /// `parse(_:)` over UTF-8 bytes, for drivers reading straight from a result buffer.
    public static func parse(utf8: UnsafeBufferPointer<UInt8>) -> Date? {
        if utf8.elementsEqual("infinity".utf8) { return .distantFuture }
        if utf8.elementsEqual("-infinity".utf8) { return .distantPast }
        var bytes = utf8[...]
        func number(_ count: Int) -> Int64? {
            guard bytes.count >= count else { return nil }
            var v: Int64 = 0
            for b in bytes.prefix(count) {
                guard b >= 48 && b <= 57 else { return nil }
                v = v * 10 + Int64(b - 48)
            }
            bytes = bytes.dropFirst(count)
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard bytes.first == c else { return false }
            bytes = bytes.dropFirst()
            return true
        }
        var sign: Int64 = 1
        if bytes.first == UInt8(ascii: "-") { sign = -1; bytes = bytes.dropFirst() }
        else if bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        var yearDigits = 0
        for b in bytes { if b >= 48 && b <= 57 { yearDigits += 1 } else { break } }
        guard yearDigits >= 4, let yAbs = number(yearDigits), expect(UInt8(ascii: "-")),
              let mo = number(2), expect(UInt8(ascii: "-")), let d = number(2),
              (1...12).contains(mo), (1...31).contains(d)
        else { return nil }
        let y = sign * yAbs
        var ms = days(fromCivil: y, mo, d) * 86_400_000
        if bytes.isEmpty { return date(milliseconds: ms) }
        guard expect(UInt8(ascii: "T")) || expect(UInt8(ascii: " ")),
              let h = number(2), expect(UInt8(ascii: ":")), let mi = number(2), h < 25, mi < 60
        else { return nil }
        var sec: Int64 = 0
        if expect(UInt8(ascii: ":")) {
            guard let s = number(2), s < 61 else { return nil }
            sec = s
        }
        var fractionMs: Double = 0
        if expect(UInt8(ascii: ".")) || expect(UInt8(ascii: ",")) {
            var scale = 100.0
            var any = false
            while let b = bytes.first, b >= 48 && b <= 57 {
                fractionMs += Double(b - 48) * scale
                scale /= 10
                any = true
                bytes = bytes.dropFirst()
            }
            guard any else { return nil }
        }
        ms += (h * 3600 + mi * 60 + sec) * 1000
        if expect(UInt8(ascii: "Z")) || expect(UInt8(ascii: "z")) {
        } else if let c = bytes.first, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
            bytes = bytes.dropFirst()
            guard let oh = number(2) else { return nil }
            var om: Int64 = 0, os: Int64 = 0
            if expect(UInt8(ascii: ":")) || (bytes.first.map { $0 >= 48 && $0 <= 57 } ?? false) {
                guard let v = number(2) else { return nil }
                om = v
                if expect(UInt8(ascii: ":")) {
                    guard let v2 = number(2) else { return nil }
                    os = v2
                }
            }
            let offset = (oh * 3600 + om * 60 + os) * 1000
            ms += c == UInt8(ascii: "+") ? -offset : offset
        }
        if bytes.elementsEqual(" BC".utf8) { return nil }
        guard bytes.isEmpty else { return nil }
        return Date(timeIntervalSince1970: (Double(ms) + fractionMs) / 1000)
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    // Howard Hinnant's days-from-civil algorithms (proleptic Gregorian calendar).
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
