import Foundation
import Testing
@testable import HTTPServer

private final class OnePiece: BodyStream {
    var piece: [UInt8]?
    init(_ piece: [UInt8]) { self.piece = piece }
    func next() throws -> [UInt8]? {
        defer { piece = nil }
        return piece
    }
}

/// `Content-Encoding: gzip`: a valid stream for clients that ask, `Vary` for caches, and never
/// for HEAD, 304, tiny bodies, binary types, streams or clients that refuse it.
@Suite struct CompressionTests {
    static let page = String(repeating: "<tr><td>llama-3-8b</td><td>active</td><td>42 ms</td></tr>\n", count: 200)

    func router() -> Router {
        let router = makeTestRouter()
        router.get("/page") { _ in .html(Self.page) }
        router.get("/tiny") { _ in .html("<p>short</p>") }
        router.get("/png") { _ in
            HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "image/png")]), body: Array(Self.page.utf8))
        }
        router.get("/tagged") { request in
            var headers = HTTPHeaders([("Content-Type", "application/json"), ("ETag", "\"v7\"")])
            if request.headers["If-None-Match"].map({ $0.contains("v7") }) == true {
                return HTTPResponse(status: 304, headers: headers)
            }
            headers.add("Cache-Control", "no-cache")
            return HTTPResponse(status: 200, headers: headers, body: Array(("[" + String(repeating: "1,", count: 2000) + "1]").utf8))
        }
        router.get("/stream") { _ in
            HTTPResponse(headers: HTTPHeaders([("Content-Type", "text/plain")]), stream: OnePiece(Array(Self.page.utf8)))
        }
        return router
    }

    @Test func acceptingClient_GetsAValidGzipStream() throws {
        try withServer(responder: router()) { (_, port) throws in
            let response = try get(port, "/page", headers: "Accept-Encoding: br, gzip;q=0.8\r\n")
            #expect(response.status == 200)
            #expect(response.header("Content-Encoding") == "gzip")
            #expect(response.header("Vary") == "Accept-Encoding")
            #expect(response.header("Content-Length") == String(response.body.count))
            #expect(response.body.count < Self.page.utf8.count / 5, "a repetitive page shrinks")
            #expect(Array(response.body.prefix(2)) == [0x1f, 0x8b], "the gzip magic")
            let inflated = try #require(Gzip.decompress(response.body))
            #expect(String(decoding: inflated, as: UTF8.self) == Self.page)
        }
    }

    @Test func refusingOrSilentClients_GetIdentityWithVary() throws {
        try withServer(responder: router()) { (_, port) throws in
            for headers in ["", "Accept-Encoding: identity\r\n", "Accept-Encoding: gzip;q=0\r\n", "Accept-Encoding: *;q=0\r\n"] {
                let response = try get(port, "/page", headers: headers)
                #expect(response.header("Content-Encoding") == nil, "\(headers)")
                #expect(response.header("Vary") == "Accept-Encoding", "\(headers)")
                #expect(response.text == Self.page)
            }
            #expect(try get(port, "/page", headers: "Accept-Encoding: *\r\n").header("Content-Encoding") == "gzip")
        }
    }

    @Test func headTinyBinaryStreamedAnd304_AreNeverCompressed() throws {
        try withServer(responder: router()) { (_, port) throws in
            let gzip = "Accept-Encoding: gzip\r\n"
            let head = try fetch(port, "HEAD /page HTTP/1.1\r\nHost: t\r\n\(gzip)\r\n", headRequest: true)
            #expect(head.header("Content-Encoding") == nil)
            #expect(head.header("Content-Length") == String(Self.page.utf8.count))
            let tiny = try get(port, "/tiny", headers: gzip)
            #expect(tiny.header("Content-Encoding") == nil)
            #expect(tiny.text == "<p>short</p>")
            #expect(try get(port, "/png", headers: gzip).header("Content-Encoding") == nil)
            let streamed = try get(port, "/stream", headers: gzip)
            #expect(streamed.header("Content-Encoding") == nil)
            #expect(streamed.text == Self.page)
            let notModified = try get(port, "/tagged", headers: gzip + "If-None-Match: W/\"v7\"\r\n")
            #expect(notModified.status == 304)
            #expect(notModified.header("Content-Encoding") == nil)
            #expect(notModified.body.isEmpty)
        }
    }

    @Test func compressedResponse_HasAWeakETagThatStillMatches() throws {
        try withServer(responder: router()) { (_, port) throws in
            let tagged = try get(port, "/tagged", headers: "Accept-Encoding: gzip\r\n")
            #expect(tagged.header("Content-Encoding") == "gzip")
            #expect(tagged.header("ETag") == "W/\"v7\"")
            #expect(try get(port, "/tagged").header("ETag") == "\"v7\"")
        }
    }

    @Test func compressionOff_SendsIdentity() throws {
        try withServer(responder: router(), configure: { $0.compressionLevel = 0 }) { (_, port) throws in
            let response = try get(port, "/page", headers: "Accept-Encoding: gzip\r\n")
            #expect(response.header("Content-Encoding") == nil)
            #expect(response.text == Self.page)
        }
    }

    @Test func staticFiles_SendTheirCachedGzipAndRevalidate() throws {
        let directory = NSTemporaryDirectory() + "gzip-static-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let css = String(repeating: ".table td { padding: 0.25rem 0.5rem; }\n", count: 100)
        try css.write(toFile: directory + "/app.css", atomically: true, encoding: .utf8)
        let router = Router()
        router.mount(prefix: "/static/", StaticFiles(root: directory, urlPrefix: "/static/"))
        try withServer(responder: router) { (_, port) throws in
            let first = try get(port, "/static/app.css", headers: "Accept-Encoding: gzip\r\n")
            let second = try get(port, "/static/app.css", headers: "Accept-Encoding: gzip\r\n")
            #expect(first.header("Content-Encoding") == "gzip")
            #expect(first.body == second.body)
            #expect(String(decoding: try #require(Gzip.decompress(first.body)), as: UTF8.self) == css)
            let etag = try #require(first.header("ETag"))
            #expect(etag.hasPrefix("W/\""))
            #expect(try get(port, "/static/app.css", headers: "Accept-Encoding: gzip\r\nIf-None-Match: \(etag)\r\n").status == 304)
            let plain = try get(port, "/static/app.css")
            #expect(plain.header("Content-Encoding") == nil)
            #expect(plain.header("Vary") == "Accept-Encoding")
            #expect(plain.text == css)
        }
    }

    @Test func decompress_RefusesAnythingButAGzipStream() {
        #expect(Gzip.decompress(Array("not gzip at all".utf8)) == nil)
        let valid = Gzip.compress(Array(Self.page.utf8), level: 6)!
        #expect(Gzip.decompress(Array(valid.dropLast(4))) == nil, "truncated")
    }
}
