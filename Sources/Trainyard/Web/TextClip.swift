extension StringProtocol {
    /// At most `count` Unicode scalars of the text. Clipping by `Character` is no bound at all:
    /// `a` followed by 100,000 combining marks is one character.
    func prefix(scalars count: Int) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in unicodeScalars.prefix(count) { scalars.append(scalar) }
        return String(scalars)
    }
}
