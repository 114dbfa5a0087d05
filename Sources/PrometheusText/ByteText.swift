import Foundation

/// Byte-level helpers for the parser: UTF-8 validation and number parsing straight from the
/// page's bytes, so that no `String` is made for a number or for a line that is rejected.
enum ByteText {
    /// What `validate` found wrong.
    enum Problem: Equatable {
        case invalidUTF8(offset: Int)
        case nul(offset: Int)
    }

    /// Checks `base[start..<end]` is well-formed UTF-8 (no overlongs, no surrogates, nothing past
    /// U+10FFFF) and, when `rejectNUL`, has no NUL byte. ASCII is skipped eight bytes at a time.
    static func validate(_ base: UnsafePointer<UInt8>, from start: Int, to end: Int,
                         rejectNUL: Bool) -> Problem? {
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let lowBits: UInt64 = 0x0101_0101_0101_0101
        var i = start
        while i < end {
            if end - i >= 8 {
                let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                if word & highBits == 0
                    && (!rejectNUL || (word &- lowBits) & ~word & highBits == 0) {
                    i += 8
                    continue
                }
            }
            let byte = base[i]
            if byte < 0x80 {
                if byte == 0 && rejectNUL { return .nul(offset: i) }
                i += 1
                continue
            }
            let trailing: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch byte {
            case 0xC2...0xDF: trailing = 1
            case 0xE0: trailing = 2; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: trailing = 2
            case 0xED: trailing = 2; high = 0x9F
            case 0xF0: trailing = 3; low = 0x90
            case 0xF1...0xF3: trailing = 3
            case 0xF4: trailing = 3; high = 0x8F
            default: return .invalidUTF8(offset: i)
            }
            if end - i - 1 < trailing { return .invalidUTF8(offset: i) }
            let second = base[i + 1]
            if second < low || second > high { return .invalidUTF8(offset: i) }
            if trailing >= 2 {
                for k in 2...trailing where base[i + k] & 0xC0 != 0x80 {
                    return .invalidUTF8(offset: i)
                }
            }
            i += trailing + 1
        }
        return nil
    }

    enum FloatResult: Equatable {
        case value(Double)
        case invalid
        case outOfRange
    }

    /// Exact powers of ten representable as doubles (10^0 … 10^22), for the fast path.
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// Parses a number the way Go's `strconv.ParseFloat` reads decimal text: optional sign,
    /// digits with an optional point (`1`, `-3.5`, `.5`, `5.`, `0042`), optional exponent
    /// (`1e-3`, `2.5E+10`), or `Inf`/`Infinity` with optional sign and `NaN`, case-insensitive.
    /// Hexadecimal floats and underscores are not accepted. Overflow (`1e400`) is out of range,
    /// as in Go.
    static func parseDouble(_ base: UnsafePointer<UInt8>, from start: Int, to end: Int) -> FloatResult {
        var i = start
        var negative = false
        if i < end && (base[i] == 0x2B || base[i] == 0x2D) {
            negative = base[i] == 0x2D
            i += 1
        }
        if i == end { return .invalid }
        let lead = base[i] | 0x20
        if lead == 0x69 {  // i
            if matchesIgnoringCase(base, i, end, "inf") || matchesIgnoringCase(base, i, end, "infinity") {
                return .value(negative ? -.infinity : .infinity)
            }
            return .invalid
        }
        if lead == 0x6E {  // n
            if i == start && matchesIgnoringCase(base, i, end, "nan") { return .value(.nan) }
            return .invalid
        }

        var mantissa: UInt64 = 0
        var digits = 0
        var fractionDigits = 0
        while i < end, base[i] &- 0x30 < 10 {
            mantissa = mantissa &* 10 &+ UInt64(base[i] &- 0x30)
            digits += 1
            i += 1
        }
        if i < end && base[i] == 0x2E {
            i += 1
            while i < end, base[i] &- 0x30 < 10 {
                mantissa = mantissa &* 10 &+ UInt64(base[i] &- 0x30)
                digits += 1
                fractionDigits += 1
                i += 1
            }
        }
        if digits == 0 { return .invalid }
        var exponent = 0
        if i < end && base[i] | 0x20 == 0x65 {  // e
            i += 1
            var exponentNegative = false
            if i < end && (base[i] == 0x2B || base[i] == 0x2D) {
                exponentNegative = base[i] == 0x2D
                i += 1
            }
            var exponentDigits = 0
            while i < end, base[i] &- 0x30 < 10 {
                if exponent < 100_000 { exponent = exponent * 10 + Int(base[i] &- 0x30) }
                exponentDigits += 1
                i += 1
            }
            if exponentDigits == 0 { return .invalid }
            if exponentNegative { exponent = -exponent }
        }
        if i != end { return .invalid }

        // Fast path (Clinger): an integer below 2^53 scaled by an exact power of ten ≤ 10^22 is
        // correctly rounded by one IEEE multiplication or division.
        if digits <= 15 {
            let scale = exponent - fractionDigits
            var value = Double(mantissa)
            if scale == 0 {
                return .value(negative ? -value : value)
            } else if scale > 0 && scale <= 22 {
                value *= powersOfTen[scale]
                return .value(negative ? -value : value)
            } else if scale < 0 && scale >= -22 {
                value /= powersOfTen[-scale]
                return .value(negative ? -value : value)
            }
        }
        // Slow path: the C library's correctly rounded conversion of the already validated text.
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self)
        guard let value = Double(text) else { return .outOfRange }
        return value.isInfinite ? .outOfRange : .value(value)
    }

    /// `parseDouble` for a `String` (the `le` label of bucket series).
    static func parseDouble(_ text: String) -> Double? {
        var copy = text
        return copy.withUTF8 { buffer -> Double? in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return nil }
            if case .value(let value) = parseDouble(base, from: 0, to: buffer.count) { return value }
            return nil
        }
    }

    /// Parses a decimal `int64` with optional sign, as Go's `strconv.ParseInt(s, 10, 64)`;
    /// nil on bad syntax or overflow.
    static func parseInt64(_ base: UnsafePointer<UInt8>, from start: Int, to end: Int) -> Int64? {
        var i = start
        var negative = false
        if i < end && (base[i] == 0x2B || base[i] == 0x2D) {
            negative = base[i] == 0x2D
            i += 1
        }
        if i == end { return nil }
        let limit: UInt64 = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        var magnitude: UInt64 = 0
        while i < end {
            let digit = base[i] &- 0x30
            if digit >= 10 { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            if overflow1 || overflow2 || sum > limit { return nil }
            magnitude = sum
            i += 1
        }
        if negative {
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        return Int64(magnitude)
    }

    /// Whether `base[start..<end]` is exactly `word` (lowercase ASCII), ignoring ASCII case.
    static func matchesIgnoringCase(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int,
                                    _ word: StaticString) -> Bool {
        if end - start != word.utf8CodeUnitCount { return false }
        let expected = word.utf8Start
        for k in 0..<(end - start) where base[start + k] | 0x20 != expected[k] {
            return false
        }
        return true
    }

    /// Whether `base[start..<end]` is exactly `word` (case-sensitive).
    static func matches(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ word: StaticString) -> Bool {
        if end - start != word.utf8CodeUnitCount { return false }
        return memcmp(base + start, word.utf8Start, end - start) == 0
    }
}
