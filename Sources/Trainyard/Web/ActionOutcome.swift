/// What a form POST did, as data: where to go next and what to tell the user.
///
/// Handlers return an outcome instead of throwing for anything the user can fix; the web layer
/// turns it into `303 See Other` with the flash set, so errors never become a 500.
public struct ActionOutcome {
    public var location: String
    public var flash: Flash

    public static func succeeded(_ message: String, redirectTo location: String) -> ActionOutcome {
        ActionOutcome(location: location, flash: .success(message))
    }

    /// A refusal. `values` and `fieldErrors` let the form come back with what the user typed.
    public static func failed(_ message: String, redirectTo location: String,
                              values: [String: String] = [:], fieldErrors: [String: String] = [:],
                              link: (label: String, href: String)? = nil) -> ActionOutcome {
        var flash = Flash(.error, message, values: values, fieldErrors: fieldErrors)
        if let link, link.href.hasPrefix("/"), !link.href.hasPrefix("//") {
            flash.linkLabel = link.label
            flash.linkHref = link.href
        }
        return ActionOutcome(location: location, flash: flash)
    }
}
