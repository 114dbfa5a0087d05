/// Decides whether a link or image URL from Markdown may be emitted.
enum URLSafety {
    /// Image types a browser will not run script from (no SVG).
    static let safeImageDataPrefixes = ["data:image/png", "data:image/gif", "data:image/jpeg", "data:image/webp"]

    /// Browsers ignore ASCII whitespace and control characters around and inside the
    /// scheme (`" java\tscript:"` still runs), so they are removed before comparing;
    /// the comparison is case-insensitive.
    static func isSafe(_ url: String, isImage: Bool) -> Bool {
        var normalized = ""
        normalized.reserveCapacity(32)
        for scalar in url.unicodeScalars {
            if scalar.value <= 0x20 || scalar.value == 0x7F { continue }
            normalized.unicodeScalars.append(scalar)
            if normalized.unicodeScalars.count >= 32 { break }
        }
        normalized = normalized.lowercased()
        if normalized.hasPrefix("javascript:") || normalized.hasPrefix("vbscript:") || normalized.hasPrefix("file:") {
            return false
        }
        if normalized.hasPrefix("data:") {
            return safeImageDataPrefixes.contains(where: { normalized.hasPrefix($0) })
        }
        return true
    }
}
