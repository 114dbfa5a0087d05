import HTTPServer

/// One request as the web layer sees it: the request, the flash it carried in, the CSRF token
/// for forms on the page, and the cookies the response must set.
public final class WebContext {
    public let request: HTTPRequest
    /// The flash message from the previous redirect; already consumed (the response clears it).
    public let flash: Flash?
    /// Put into every form as `_csrf`.
    public let csrfToken: String
    var cookiesToSet: [String] = []

    init(request: HTTPRequest, flash: Flash?, csrfToken: String) {
        self.request = request
        self.flash = flash
        self.csrfToken = csrfToken
    }

    /// A path parameter from the route pattern (`{id}`).
    public func parameter(_ name: String) -> String? { request.pathParameters[name] }

    /// A path parameter that must be a positive integer id; nil for anything else (`abc`, `-1`, `1e3`).
    public func idParameter(_ name: String = "id") -> Int? {
        guard let text = parameter(name), !text.isEmpty, text.utf8.count <= 18,
              text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let id = Int(text), id > 0 else { return nil }
        return id
    }

    /// The value the user typed into `field`, from the failed submission carried by the flash.
    public func typedValue(_ field: String) -> String? { flash?.values[field] }
    public func fieldError(_ field: String) -> String? { flash?.fieldErrors[field] }
}
