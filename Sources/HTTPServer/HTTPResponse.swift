/// A response produced by a handler. The server adds `Date`, `Content-Length` (or
/// `Transfer-Encoding` for a stream) and `Connection`; header values containing CR, LF or NUL
/// are refused when the response is written.
///
/// ```swift
/// return .html(page)
/// return .redirect(to: "/training/jobs/42")       // 303 See Other
/// return .text("not here", status: 404)
/// return HTTPResponse(headers: csvHeaders, stream: rows)   // sent chunk by chunk
/// ```
public struct HTTPResponse {
    /// The status code.
    public var status: Int
    /// The header fields set by the handler.
    public var headers: HTTPHeaders
    /// The body bytes.
    public var body: [UInt8]
    /// A body produced piece by piece while it is sent (see `BodyStream`); when set, `body` is
    /// ignored. Never set by a handler that answers on the event loop (`respondWithoutBlocking`):
    /// such a response is handed to a worker before the stream is read.
    public var stream: BodyStream?
    /// The route pattern that answered (`/deployments/{id}`), set by `Router`; never sent. Lets
    /// a metrics page count requests by route without the ids in their paths.
    public var route: String?
    /// Who made the request (a user name), set by the app for the access log; never sent.
    public var actor: String?

    /// A response with the given status, headers and body (or stream).
    public init(status: Int = 200, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [], stream: BodyStream? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.stream = stream
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ s: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "text/plain; charset=utf-8")]), body: Array(s.utf8))
    }

    /// A `text/html; charset=utf-8` response.
    public static func html(_ s: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "text/html; charset=utf-8")]), body: Array(s.utf8))
    }

    /// An `application/json` response from already-encoded bytes.
    public static func json(_ bytes: [UInt8], status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "application/json")]), body: bytes)
    }

    /// A redirect; 303 See Other by default, the answer to a successful form POST.
    public static func redirect(to location: String, status: Int = 303) -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([("Location", location)]))
    }

    /// The standard reason phrase for `status` (empty for unknown codes, which RFC 9112 allows).
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 206: return "Partial Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 406: return "Not Acceptable"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 411: return "Length Required"
        case 412: return "Precondition Failed"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 417: return "Expectation Failed"
        case 422: return "Unprocessable Content"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return ""
        }
    }
}
