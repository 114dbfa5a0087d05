import Logging

/// Values from a request, made safe for a log line: control characters (a decoded `%0a` in a
/// path) are written as `\u{…}`, so nobody can forge a log line, and long values are cut.
enum LogText {
    static func escaped(_ text: String, limit: Int = 512) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}" {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        if text.unicodeScalars.count > limit { out += "…" }
        return out
    }

    static func value(_ text: String) -> Logger.MetadataValue { .string(escaped(text)) }
}
