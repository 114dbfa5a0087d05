/// Heading ids: lower-case letters and digits joined by single hyphens.
enum Slug {
    static func make(_ text: String) -> String {
        var slug = ""
        var pendingHyphen = false
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                if pendingHyphen && !slug.isEmpty { slug.append("-") }
                pendingHyphen = false
                slug.append(character)
            } else if character.isWhitespace || character == "-" || character == "_" {
                pendingHyphen = true
            }
            // Other punctuation is dropped: "What's new?" → "whats-new".
        }
        return slug.isEmpty ? "section" : slug
    }
}

/// Hands out each slug once; repeats get `-2`, `-3`, … .
struct SlugSet {
    private var used: Set<String> = []

    mutating func unique(_ slug: String) -> String {
        if used.insert(slug).inserted { return slug }
        var n = 2
        while !used.insert("\(slug)-\(n)").inserted { n += 1 }
        return "\(slug)-\(n)"
    }
}
