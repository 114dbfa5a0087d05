import Foundation
import Logging
import Testing
@testable import HTTPServer
#if canImport(Glibc)
import Glibc
#endif

/// Hands out `pieces` one per call, then nil; or throws instead of the piece at `failAt`.
final class PieceStream: BodyStream, @unchecked Sendable {
    struct Failed: Error, CustomStringConvertible { var description: String { "the rows could not be read" } }

    private let lock = NSLock()
    private let pieces: [[UInt8]]
    private let failAt: Int?
    private var handedOut = 0

    init(_ pieces: [[UInt8]], failAt: Int? = nil) {
        self.pieces = pieces
        self.failAt = failAt
    }

    /// How many times the server asked for a piece.
    var calls: Int {
        lock.lock()
        defer { lock.unlock() }
        return handedOut
    }

    func next() throws -> [UInt8]? {
        lock.lock()
        defer { lock.unlock() }
        let index = handedOut
        handedOut += 1
        if index == failAt { throw Failed() }
        return index < pieces.count ? pieces[index] : nil
    }
}

/// A router whose `/stream` answers with a fresh stream made by `make`; `latest` is the last one.
final class StreamingRouter: @unchecked Sendable {
    private final class Made: @unchecked Sendable {
        let lock = NSLock()
        var streams: [PieceStream] = []
    }

    let router = makeTestRouter()
    private let made = Made()

    init(_ make: @escaping () -> PieceStream) {
        router.get("/stream") { [made] _ in
            let stream = make()
            made.lock.lock()
            made.streams.append(stream)
            made.lock.unlock()
            return HTTPResponse(headers: HTTPHeaders([("Content-Type", "text/csv")]), stream: stream)
        }
    }

    var latest: PieceStream? {
        made.lock.lock()
        defer { made.lock.unlock() }
        return made.streams.last
    }
}

/// `count` pieces of `size` bytes (at least 4), each starting with its index, so a missing,
/// repeated or reordered piece shows.
func numberedPieces(_ count: Int, size: Int) -> [[UInt8]] {
    (0..<count).map { i in
        var piece = [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: size)
        piece.replaceSubrange(0..<4, with: [UInt8(i >> 24 & 255), UInt8(i >> 16 & 255), UInt8(i >> 8 & 255), UInt8(i & 255)])
        return piece
    }
}

@Suite struct StreamingTests {
    @Test func streamedBody_IsChunkedPieceByPieceAndKeepsTheConnection() throws {
        let pieces: [[UInt8]] = [Array("id,name\r\n".utf8), [], Array("1,a\r\n".utf8), numberedPieces(1, size: 100_000)[0]]
        let routes = StreamingRouter { PieceStream(pieces) }
        try withServer(responder: routes.router) { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            let head = try client.readHead()
            #expect(head.status == 200)
            #expect(head.header("Transfer-Encoding") == "chunked")
            #expect(head.header("Content-Length") == nil)
            #expect(head.header("Content-Type") == "text/csv")
            let body = try client.readChunks()
            let complete = body.complete, sizes = body.chunks.map(\.count), same = body.chunks == pieces.filter { !$0.isEmpty }
            #expect(complete)
            // The empty piece is skipped: a zero-size chunk would end the body there.
            #expect(sizes == [9, 5, 100_000])
            #expect(same)

            client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().text == "hello")
        }
    }

    @Test func emptyStream_SendsOnlyTheLastChunk() throws {
        let routes = StreamingRouter { PieceStream([]) }
        try withServer(responder: routes.router) { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.body.isEmpty)
            #expect(try client.readResponse().text == "hello")
        }
    }

    @Test func head_SendsTheHeadersWithoutReadingTheStream() throws {
        let routes = StreamingRouter { PieceStream(numberedPieces(4, size: 1000)) }
        try withServer(responder: routes.router) { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            let head = try client.readResponse(headRequest: true)
            #expect(head.status == 200)
            #expect(head.header("Transfer-Encoding") == "chunked")
            // Anything sent after the head would be read as the start of the next response.
            client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().text == "hello")
            #expect(routes.latest?.calls == 0)
        }
    }

    @Test func http10Client_GetsPlainBytesEndedByTheClose() throws {
        let pieces = numberedPieces(3, size: 5000)
        let routes = StreamingRouter { PieceStream(pieces) }
        try withServer(responder: routes.router) { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("GET /stream HTTP/1.0\r\n\r\n")
            let head = try client.readHead()
            #expect(head.header("Transfer-Encoding") == nil)
            #expect(head.header("Content-Length") == nil)
            #expect(head.header("Connection") == "close")
            let same = client.readToEnd() == pieces.flatMap { $0 }
            #expect(same)
        }
    }

    @Test func errorMidStream_ClosesWithoutTheLastChunkAndIsLogged() throws {
        let store = RecordingLogHandler.Store()
        let logger = Logger(label: "t") { _ in RecordingLogHandler(store: store) }
        let pieces = numberedPieces(5, size: 3000)
        let routes = StreamingRouter { PieceStream(pieces, failAt: 3) }
        try withServer(responder: routes.router, logger: logger) { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readHead().status == 200)
            let body = try client.readChunks()
            let complete = body.complete, same = body.chunks == Array(pieces[0..<3])
            #expect(!complete)
            #expect(same)
            #expect(client.isClosedByPeer())
        }
        let failures = store.all.filter { $0.level == .error && $0.message.contains("closing without its last chunk") }
        #expect(failures.count == 1)
        #expect(failures.first?.metadata["path"] == "/stream")
    }

    @Test func errorBeforeTheFirstPiece_IsAPlain500() throws {
        let routes = StreamingRouter { PieceStream(numberedPieces(2, size: 10), failAt: 0) }
        try withServer(responder: routes.router) { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 500)
            #expect(response.header("Transfer-Encoding") == nil)
            #expect(!response.text.contains("could not be read"))
        }
    }

    /// 2,000 pieces of 16 KiB (32 MiB) to a client that first reads nothing, then reads 4 KiB at
    /// a time: the server asks for pieces only as the socket drains, never the whole body
    /// ahead, and the one worker stays free for other requests meanwhile.
    @Test func slowReader_GetsEveryPieceWhileTheServerStaysAFewPiecesAhead() throws {
        let pieceSize = 16 * 1024, count = 2000
        let pieces = numberedPieces(count, size: pieceSize)
        let routes = StreamingRouter { PieceStream(pieces) }
        try withServer(responder: routes.router, configure: { $0.workerThreads = 1; $0.bodyIdleTimeout = 5 }) { (_, port) throws in
            let client = try TestClient(port: port, timeout: 10, receiveBuffer: 16 * 1024)
            client.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            usleep(300_000)
            // Kernel buffers on both sides hold some megabytes at most; the body is 32 MiB.
            let aheadWhileStalled = routes.latest?.calls ?? 0
            #expect(aheadWhileStalled > 0)
            #expect(aheadWhileStalled < 600)
            // The only worker is not held by the stalled download.
            #expect(try get(port, "/").text == "hello")

            #expect(try client.readHead().status == 200)
            var received: [UInt8] = []
            var maxAhead = 0
            // Raw bytes, a few KiB per read, pausing now and then like a slow disk.
            while true {
                let bytes = client.readSome(max: 4096)
                if bytes.isEmpty { break }
                received += bytes
                if received.count % (1 << 20) < 4096 {
                    usleep(2_000)
                    maxAhead = max(maxAhead, (routes.latest?.calls ?? 0) - received.count / pieceSize)
                }
                // Each piece is framed as `4000\r\n…\r\n`, the body ends with `0\r\n\r\n`.
                if received.count >= count * (pieceSize + 8) + 5 { break }
            }
            #expect(maxAhead < 600)
            let decoded = try decodeChunked(received)
            let complete = decoded.complete, size = decoded.body.count, same = decoded.body == pieces.flatMap { $0 }
            #expect(complete)
            #expect(size == count * pieceSize)
            #expect(same)
        }
    }

    @Test func readerThatStopsReading_IsClosedAfterTheWriteTimeout() throws {
        let store = RecordingLogHandler.Store()
        let logger = Logger(label: "t") { _ in RecordingLogHandler(store: store) }
        let pieces = numberedPieces(2000, size: 16 * 1024)
        let routes = StreamingRouter { PieceStream(pieces) }
        try withServer(responder: routes.router, logger: logger, configure: { $0.bodyIdleTimeout = 0.5 }) { (_, port) throws in
            let client = try TestClient(port: port, timeout: 10, receiveBuffer: 16 * 1024)
            client.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            usleep(1_500_000)
            #expect(try client.readHead().status == 200)
            let body = try client.readChunks()
            let complete = body.complete, received = body.chunks.count
            #expect(!complete)
            #expect(received < 2000)
        }
        #expect(store.all.contains { $0.message.contains("streamed response stalled") })
    }
}

/// Decodes a whole chunked body held in memory; `complete` when it ends with the last chunk.
func decodeChunked(_ bytes: [UInt8]) throws -> (body: [UInt8], complete: Bool) {
    var body: [UInt8] = []
    var i = 0
    while true {
        guard let lineEnd = (i..<max(i, bytes.count - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }) else { return (body, false) }
        guard let size = Int(String(decoding: bytes[i..<lineEnd], as: UTF8.self), radix: 16) else { throw TestFailure("bad chunk size at \(i)") }
        i = lineEnd + 2
        if size == 0 { return (body, Array(bytes[i...]) == [13, 10]) }
        guard i + size + 2 <= bytes.count else { return (body, false) }
        body += bytes[i..<(i + size)]
        guard bytes[i + size] == 13, bytes[i + size + 1] == 10 else { throw TestFailure("chunk not followed by CRLF at \(i + size)") }
        i += size + 2
    }
}
