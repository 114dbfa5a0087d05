/// Something that turns a request into a response. Called on a worker thread; it may block
/// (on a database, for instance). Errors it throws become a 500 that reveals nothing.
public protocol HTTPResponder: AnyObject {
    func respond(to request: HTTPRequest) throws -> HTTPResponse
    /// Answers a request that cannot block (a health check, a computed constant) right on the
    /// event-loop thread, saving the hand-off to a worker and back; nil sends it to a worker as
    /// usual. Must never wait on I/O, locks held by handlers, or the database.
    func respondWithoutBlocking(to request: HTTPRequest) -> HTTPResponse?
}

extension HTTPResponder {
    /// By default every request goes to a worker.
    public func respondWithoutBlocking(to request: HTTPRequest) -> HTTPResponse? { nil }
}

/// A route handler.
public typealias HTTPHandler = (HTTPRequest) throws -> HTTPResponse

/// Dispatches requests by method and path pattern. Patterns are literal segments and `{name}`
/// captures, matched segment by segment against the percent-decoded path (so `%2F` inside a
/// segment stays in that segment):
///
/// ```swift
/// let router = Router()
/// router.get("/training/jobs/{id}") { request in .text(request.pathParameters["id"]!) }
/// router.post("/training/jobs/{id}/start", startJob)
/// router.mount(prefix: "/static/", StaticFiles(root: "Public"))
/// ```
///
/// An unmatched path gets `notFound`; a path served only under other methods gets
/// `methodNotAllowed` with an `Allow` header. `HEAD` is served by the `GET` handler (the server
/// drops the body and keeps its `Content-Length`). Routes are meant to be added before the
/// server starts.
public final class Router: HTTPResponder {
    private enum Segment {
        case literal(String)
        case parameter(String)
    }

    private struct Route {
        let method: String
        let segments: [Segment]
        let pattern: String
        let handler: HTTPHandler
    }

    private var routes: [Route] = []
    /// GET routes answered on the event loop, by exact raw path.
    private var nonBlocking: [String: (HTTPRequest) -> HTTPResponse] = [:]
    private var mounts: [(prefix: String, responder: HTTPResponder)] = []

    /// Answers requests no route or mount matches. Default: a plain 404.
    public var notFound: HTTPHandler = { _ in .text("Not Found\n", status: 404) }

    /// Answers requests whose path matches only routes of other methods; receives the allowed
    /// methods. Default: a plain 405 with `Allow`.
    public var methodNotAllowed: (HTTPRequest, [String]) -> HTTPResponse = { _, allowed in
        var response = HTTPResponse.text("Method Not Allowed\n", status: 405)
        response.headers.set("Allow", allowed.joined(separator: ", "))
        return response
    }

    /// An empty router.
    public init() {}

    /// Adds a route for `method` (e.g. "DELETE") and `pattern` (e.g. "/deployments/{id}").
    public func add(_ method: String, _ pattern: String, _ handler: @escaping HTTPHandler) {
        let segments: [Segment] = Self.split(pattern).map { piece in
            if piece.hasPrefix("{") && piece.hasSuffix("}") && piece.count > 2 {
                return .parameter(String(piece.dropFirst().dropLast()))
            }
            return .literal(String(piece))
        }
        routes.append(Route(method: method, segments: segments, pattern: pattern, handler: handler))
    }

    /// Adds a GET route (which also serves HEAD).
    public func get(_ pattern: String, _ handler: @escaping HTTPHandler) {
        add("GET", pattern, handler)
    }

    /// Adds a GET route for an exact path whose handler never blocks; the server answers it on
    /// the event-loop thread (see `HTTPResponder.respondWithoutBlocking`). It is also an ordinary
    /// route, so `respond(to:)` serves it too.
    public func getWithoutBlocking(_ path: String, _ handler: @escaping (HTTPRequest) -> HTTPResponse) {
        nonBlocking[path] = handler
        add("GET", path, handler)
    }

    /// The non-blocking route for `request`'s exact path, if any (GET and HEAD only).
    public func respondWithoutBlocking(to request: HTTPRequest) -> HTTPResponse? {
        guard request.method == "GET" || request.method == "HEAD", let handler = nonBlocking[request.rawPath] else { return nil }
        var response = handler(request)
        response.route = request.rawPath
        return response
    }

    /// Adds a POST route.
    public func post(_ pattern: String, _ handler: @escaping HTTPHandler) {
        add("POST", pattern, handler)
    }

    /// Hands every request whose raw path starts with `prefix` to `responder`, whatever the
    /// method, unless a route matches first. The longest matching prefix wins.
    public func mount(prefix: String, _ responder: HTTPResponder) {
        mounts.append((prefix: prefix, responder: responder))
        mounts.sort { $0.prefix.utf8.count > $1.prefix.utf8.count }
    }

    /// Routes `request` to its handler, a mount, `methodNotAllowed` or `notFound`.
    public func respond(to request: HTTPRequest) throws -> HTTPResponse {
        let pieces = Self.split(Substring(request.rawPath)).map(percentDecodePath)
        var allowed: [String] = []
        var getMatch: (Route, [String: String])?
        for route in routes {
            guard let parameters = Self.match(route.segments, pieces) else { continue }
            if route.method == request.method {
                var routed = request
                routed.pathParameters = parameters
                var response = try route.handler(routed)
                response.route = route.pattern
                return response
            }
            if route.method == "GET" && request.method == "HEAD" && getMatch == nil {
                getMatch = (route, parameters)
            }
            if !allowed.contains(route.method) { allowed.append(route.method) }
        }
        if let (route, parameters) = getMatch {
            var routed = request
            routed.pathParameters = parameters
            var response = try route.handler(routed)
            response.route = route.pattern
            return response
        }
        for mount in mounts where request.rawPath.hasPrefix(mount.prefix) {
            var response = try mount.responder.respond(to: request)
            if response.route == nil { response.route = mount.prefix + "*" }
            return response
        }
        if !allowed.isEmpty {
            if allowed.contains("GET") && !allowed.contains("HEAD") { allowed.append("HEAD") }
            return methodNotAllowed(request, allowed)
        }
        return try notFound(request)
    }

    /// "/a/b/" -> ["a", "b", ""]; "/" -> [""].
    private static func split(_ path: Substring) -> [Substring] {
        var trimmed = path
        if trimmed.hasPrefix("/") { trimmed = trimmed.dropFirst() }
        return trimmed.split(separator: "/", omittingEmptySubsequences: false)
    }

    private static func split(_ pattern: String) -> [Substring] {
        split(Substring(pattern))
    }

    private static func match(_ segments: [Segment], _ pieces: [String]) -> [String: String]? {
        guard segments.count == pieces.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, piece) in zip(segments, pieces) {
            switch segment {
            case .literal(let literal):
                if literal != piece { return nil }
            case .parameter(let name):
                if piece.isEmpty { return nil }
                parameters[name] = piece
            }
        }
        return parameters
    }
}
