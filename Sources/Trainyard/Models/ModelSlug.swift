import Foundation

/// The slug a model gets when none is typed: its name in lowercase ASCII letters and digits,
/// every other run of characters one hyphen, cut to the slug rule's length.
///
/// ```swift
/// ModelSlug.derive(from: "LFM2 1.2B")        // "lfm2-1-2b"
/// ModelSlug.derive(from: "Modèle Français")  // "modele-francais"
/// ModelSlug.derive(from: "日本語")             // "": nothing to make one from
/// ```
///
/// Unlike `Slug.make` (heading ids, which keep any letter), a model slug stays ASCII: it is
/// typed into URLs, API calls and inference endpoints.
enum ModelSlug {
    static func derive(from name: String) -> String {
        let folded = name.folding(options: [.diacriticInsensitive, .widthInsensitive], locale: nil).lowercased()
        var slug = ""
        var pendingHyphen = false
        for byte in folded.utf8 {
            if SlugRule.isSlugByte(byte) && byte != UInt8(ascii: "-") {
                if pendingHyphen && !slug.isEmpty { slug.append("-") }
                pendingHyphen = false
                slug.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                pendingHyphen = true
            }
        }
        let limit = ModelRules.slug.maxLength
        if slug.utf8.count > limit {
            slug = String(slug.prefix(limit))
            while slug.hasSuffix("-") { slug.removeLast() }
        }
        return slug
    }
}
