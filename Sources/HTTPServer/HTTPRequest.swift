/// An HTTP protocol version such as 1.1.
public struct HTTPVersion: Equatable, Hashable, CustomStringConvertible {
    /// The major version (1).
    public var major: Int
    /// The minor version (0 or 1).
    public var minor: Int

    /// A version from its two numbers.
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// HTTP/1.0
    public static let http10 = HTTPVersion(major: 1, minor: 0)
    /// HTTP/1.1
    public static let http11 = HTTPVersion(major: 1, minor: 1)

    /// `HTTP/1.1`
    public var description: String { "HTTP/\(major).\(minor)" }
}

/// A complete request: head and body, as parsed from the wire or built by a test.
///
/// ```swift
/// let request = HTTPRequest(method: "GET", target: "/deployments?status=active&page=2")
/// request.path              // "/deployments"
/// request.query["page"]     // "2"
/// ```
public struct HTTPRequest {
    /// The method, e.g. `GET`, exactly as sent (methods are case-sensitive).
    public var method: String
    /// The raw request-target as received (`/a%20b?x=1`).
    public var target: String {
        didSet { splitTarget() }
    }
    /// The path, percent-decoded once, without the query.
    public var path: String
    /// The path exactly as received (not decoded), without the query.
    public var rawPath: String
    /// The raw query string, without `?` (empty when there is none).
    public var queryString: String
    /// The decoded query string.
    public var query: QueryParameters
    /// The protocol version of the request.
    public var version: HTTPVersion
    /// The header fields in the order received.
    public var headers: HTTPHeaders {
        didSet { form = FormCache() }
    }
    /// The body bytes (already de-chunked).
    public var body: [UInt8] {
        didSet { form = FormCache() }
    }
    /// `formParameters`, decoded at most once per body: a large form is not split again on
    /// every access (a handler, the CSRF check and a form type each read it).
    private var form = FormCache()
    /// Values captured by `{name}` segments of the matched route.
    public var pathParameters: [String: String]
    /// The peer address (`127.0.0.1:51234`), empty when unknown.
    public var remoteAddress: String
    /// This request's id (`X-Request-Id`): made by the server, or a trusted proxy's. In every
    /// log line of the request and on its response. Empty for a request built by a test.
    public var requestID = ""

    /// Builds a request; the path and query are derived from `target`.
    public init(
        method: String = "GET",
        target: String,
        version: HTTPVersion = .http11,
        headers: HTTPHeaders = HTTPHeaders(),
        body: [UInt8] = [],
        remoteAddress: String = "",
        pathParameters: [String: String] = [:]
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        self.pathParameters = pathParameters
        self.path = ""
        self.rawPath = ""
        self.queryString = ""
        self.query = QueryParameters()
        splitTarget()
    }

    /// The urlencoded form fields of the body; empty unless the content type is
    /// `application/x-www-form-urlencoded`.
    public var formParameters: QueryParameters {
        if let decoded = form.value { return decoded }
        let decoded = decodeForm()
        form.value = decoded
        return decoded
    }

    /// Whether the body has been decoded as a form already (for tests of the cache).
    public var formIsDecoded: Bool { form.value != nil }

    private func decodeForm() -> QueryParameters {
        guard let contentType = headers["Content-Type"] else { return QueryParameters() }
        let mediaType = trimOWS(contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0])
        guard asciiCaseInsensitiveEquals(String(mediaType), "application/x-www-form-urlencoded") else {
            return QueryParameters()
        }
        return QueryParameters(parsing: String(decoding: body, as: UTF8.self))
    }

    /// Whether the client wants the connection kept open after this request: HTTP/1.1 unless
    /// it sent `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    public var wantsKeepAlive: Bool {
        let tokens = headers.tokens("Connection")
        if tokens.contains("close") { return false }
        if version.major == 1 && version.minor == 0 { return tokens.contains("keep-alive") }
        return true
    }

    private mutating func splitTarget() {
        var pathPart = Substring(target)
        var queryPart: Substring = ""
        if let q = target.firstIndex(of: "?") {
            pathPart = target[..<q]
            queryPart = target[target.index(after: q)...]
        }
        // absolute-form (`http://host/path`): keep only the path.
        if !pathPart.hasPrefix("/"), let colon = pathPart.firstIndex(of: ":"),
           pathPart[colon...].hasPrefix("://") {
            let afterAuthority = pathPart[pathPart.index(colon, offsetBy: 3)...]
            if let slash = afterAuthority.firstIndex(of: "/") {
                pathPart = afterAuthority[slash...]
            } else {
                pathPart = "/"
            }
        }
        rawPath = String(pathPart)
        path = percentDecodePath(pathPart)
        queryString = String(queryPart)
        query = QueryParameters(parsing: queryString)
    }
}

/// Holds a request's decoded form. A class, so the `formParameters` getter can fill it without
/// being `mutating`; a new body or new headers get a new, empty one.
final class FormCache: @unchecked Sendable {
    var value: QueryParameters?
}
