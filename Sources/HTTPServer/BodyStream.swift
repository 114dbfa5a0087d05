/// A response body made piece by piece while it is sent, for bodies too large to hold in memory
/// (a table export of every row). Set it as `HTTPResponse.stream`; `body` is then ignored.
///
/// The server pulls: it asks for the next piece only once the socket has taken the previous
/// one, so a slow reader holds one piece in memory and no thread (while the client catches up
/// the connection waits on the event loop, under the same write timeout as any response).
/// Pieces go out as HTTP/1.1 chunks (`Transfer-Encoding: chunked`; to an HTTP/1.0 client, as
/// plain bytes ended by closing the connection). `HEAD` never calls `next()`.
///
/// If `next()` throws before the first piece, the client gets a plain 500; after it, the
/// connection is closed without the last chunk, so the client sees a truncated transfer rather
/// than a complete-looking one. Either way the error is logged.
///
/// ```swift
/// final class Countdown: BodyStream {
///     var n = 3
///     func next() throws -> [UInt8]? {
///         guard n > 0 else { return nil }
///         defer { n -= 1 }
///         return Array("\(n)\n".utf8)
///     }
/// }
/// var response = HTTPResponse(headers: HTTPHeaders([("Content-Type", "text/plain")]))
/// response.stream = Countdown()
/// ```
public protocol BodyStream: AnyObject {
    /// The next piece of the body, or nil when it is complete. An empty piece is skipped.
    /// Called on worker threads, one call at a time, never concurrently.
    func next() throws -> [UInt8]?
}

/// What the server keeps of a streamed response between pieces.
final class StreamProgress {
    let stream: BodyStream
    let request: HTTPRequest
    let status: Int
    let keepAlive: Bool
    /// False for an HTTP/1.0 client: the pieces go out unframed and closing ends the body.
    let chunked: Bool
    let received: Double
    var bodyBytes = 0
    /// For the access log line written when the body ends.
    var route: String?
    var actor: String?

    init(stream: BodyStream, request: HTTPRequest, status: Int, keepAlive: Bool, chunked: Bool, received: Double) {
        self.stream = stream
        self.request = request
        self.status = status
        self.keepAlive = keepAlive
        self.chunked = chunked
        self.received = received
    }

    /// The next non-empty piece (an empty chunk would end the body), or nil at the end.
    func nextPiece() throws -> [UInt8]? {
        while let piece = try stream.next() {
            if !piece.isEmpty { return piece }
        }
        return nil
    }

    /// `piece` as it goes on the wire: `size-in-hex CRLF bytes CRLF` when chunked.
    func frame(_ piece: [UInt8], after prefix: [UInt8] = []) -> [UInt8] {
        guard chunked else { return prefix + piece }
        var out = prefix
        out.reserveCapacity(prefix.count + piece.count + 12)
        out.append(contentsOf: String(piece.count, radix: 16).utf8)
        out.append(contentsOf: [13, 10])
        out.append(contentsOf: piece)
        out.append(contentsOf: [13, 10])
        return out
    }

    /// The last chunk and an empty trailer section; nothing when the close ends the body.
    var terminator: [UInt8] { chunked ? Array("0\r\n\r\n".utf8) : [] }
}
