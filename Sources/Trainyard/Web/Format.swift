import Foundation
import TemplateEngine

/// Formatting shared by pages: relative times with the exact time kept for hover and `<time>`.
enum Format {
    static func iso(_ date: Date) -> String {
        // Formatted by hand: gmtime_r is thread-safe and cheap, unlike a shared formatter.
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(Int(parts.tm_year) + 1900) + "-" + pad2(Int(parts.tm_mon) + 1) + "-" + pad2(Int(parts.tm_mday)) + "T"
            + pad2(Int(parts.tm_hour)) + ":" + pad2(Int(parts.tm_min)) + ":" + pad2(Int(parts.tm_sec)) + "Z"
    }

    /// "2026-11-23 17:26 UTC", shown on hover.
    static func exact(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(Int(parts.tm_year) + 1900) + "-" + pad2(Int(parts.tm_mon) + 1) + "-" + pad2(Int(parts.tm_mday)) + " "
            + pad2(Int(parts.tm_hour)) + ":" + pad2(Int(parts.tm_min)) + " UTC"
    }

    /// Two digits; `String(format:)` costs several times more, and tables call this per row.
    private static func pad2(_ n: Int) -> String { n < 10 ? "0" + String(n) : String(n) }

    static func relative(_ date: Date, now: Date) -> String {
        let seconds = Int(now.timeIntervalSince(date))
        if seconds < 0 { return "just now" }
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
        ["relative": .string(relative(date, now: now)), "exact": .string(exact(date)), "iso": .string(iso(date))]
    }
}

/// Status badges: colour (tone), icon and text together.
enum Badge {
    static func job(_ status: JobStatus) -> TemplateValue {
        ["label": .string(status.label), "tone": .string(status.tone), "icon": .string(status.icon), "value": .string(status.rawValue)]
    }

    static func deployment(_ status: DeploymentStatus) -> TemplateValue {
        ["label": .string(status.label), "tone": .string(status.tone), "icon": .string(status.icon), "value": .string(status.rawValue)]
    }
}
