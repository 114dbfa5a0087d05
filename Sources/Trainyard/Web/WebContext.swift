import HTTPServer

/// One request as the web layer sees it: the request, the flash it carried in, who is signed
/// in, the CSRF token for forms on the page, and the cookies the response must set.
public final class WebContext {
    public let request: HTTPRequest
    /// The flash message from the previous redirect; already consumed (the response clears it).
    public let flash: Flash?
    /// The browser's session secret (from its cookie, or new for this response).
    let session: String
    /// Put into every form as `_csrf`; tied to `session`.
    public let csrfToken: String
    /// The signed-in user, or nil.
    public internal(set) var actor: Actor?
    /// The client's address (through trusted proxies only).
    public let clientAddress: String
    /// Whether the browser reached us over TLS, so cookies are Secure and `__Host-`.
    let isSecure: Bool
    let isAPI: Bool
    /// The request carried an `Authorization` header (a bad token is a 401, not a sign-in page).
    /// The scheme of the `Authorization` header an API request sent ("bearer", "basic"), if any.
    var credentialScheme: String?
    var sessionCookieName = ""
    var cookiesToSet: [String] = []
    /// The change counters read for this page's tag, if it has one.
    var counters: CounterReading?

    init(request: HTTPRequest, flash: Flash?, session: String, csrfToken: String, clientAddress: String, isSecure: Bool) {
        self.request = request
        self.flash = flash
        self.session = session
        self.csrfToken = csrfToken
        self.clientAddress = clientAddress
        self.isSecure = isSecure
        isAPI = request.path.hasPrefix("/api/")
    }

    /// The session secret was made for this response: the browser sent no valid one.
    var sessionIsNew: Bool { cookiesToSet.contains { $0.hasPrefix(sessionCookieName + "=") } }

    /// The signed-in user; handlers behind `.signedIn` access always have one.
    var requireActor: Actor {
        get throws {
            guard let actor else { throw HTTPError(status: 401, title: "Sign in", message: "Sign in to continue.") }
            return actor
        }
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
