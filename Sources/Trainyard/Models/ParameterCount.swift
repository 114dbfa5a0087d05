/// Parameter counts as people write them: `350000000`, `354M`, `1.2B`, `8B`, `1.5T`.
enum ParameterCount {
    /// Suffixes, largest first; case does not matter when parsing.
    static let units: [(suffix: Character, value: Int64)] = [
        ("T", 1_000_000_000_000), ("B", 1_000_000_000), ("M", 1_000_000), ("K", 1_000),
    ]

    /// The count `text` stands for: digits, optionally with a decimal part and a suffix
    /// (`K`, `M`, `B`, `T`, optionally after a space). Nil for anything else, and for values that
    /// are not a whole number of parameters (`1.2345678901B`) or do not fit in 64 bits.
    ///
    /// ```swift
    /// ParameterCount.parse("1.2B")      // 1_200_000_000
    /// ParameterCount.parse("354m")      // 354_000_000
    /// ParameterCount.parse("1,2B")      // nil: a comma could mean either thing
    /// ```
    static func parse(_ text: String) -> Int64? {
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !body.isEmpty, body.utf8.count <= 32 else { return nil }
        var multiplier: Int64 = 1
        if let last = body.last, let unit = units.first(where: { String($0.suffix) == last.uppercased() }) {
            multiplier = unit.value
            body = body.dropLast()
            while body.last == " " { body = body.dropLast() }
        }
        let pieces = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = pieces[0], fraction = pieces.count == 2 ? pieces[1] : ""
        guard !whole.isEmpty, whole.utf8.allSatisfy(isDigit), fraction.utf8.allSatisfy(isDigit),
              pieces.count == 1 || !fraction.isEmpty else { return nil }
        // Digits without leading zeros, so "000001M" is as fine as "1M".
        let digits = (whole + fraction).drop { $0 == "0" }
        guard digits.count <= 18, fraction.count <= 12 else { return nil }
        let mantissa = Int64(digits) ?? 0
        var scale: Int64 = 1
        for _ in 0..<fraction.count { scale *= 10 }
        let (product, overflow) = mantissa.multipliedReportingOverflow(by: multiplier)
        guard !overflow, product % scale == 0 else { return nil }
        return product / scale
    }

    /// The shortest exact way to write `count`: `354M`, `1.17B`, `8B`, or the digits when no
    /// suffix says it exactly in three decimals. `parse(text(n)) == n` for every positive `n`,
    /// so a form prefilled with it saves the same count back.
    static func text(_ count: Int64) -> String {
        guard let unit = units.first(where: { count >= $0.value }) else { return String(count) }
        let whole = count / unit.value, rest = count % unit.value
        if rest == 0 { return "\(whole)\(unit.suffix)" }
        var step = unit.value
        for decimals in 1...3 {
            step /= 10
            if rest % step == 0 {
                let digits = String(rest / step)
                return "\(whole)." + String(repeating: "0", count: decimals - digits.count) + digits + String(unit.suffix)
            }
        }
        return String(count)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
}
