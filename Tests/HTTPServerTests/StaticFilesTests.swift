import Foundation
import Testing
@testable import HTTPServer
#if canImport(Glibc)
import Glibc
#endif

/// A temporary tree:
///   <base>/public/app.css, app.js, logo.svg, icon.png, favicon.ico, font.woff2, notes.txt,
///   data.json, page.html, .env, sub/deep.txt, "%2e" (a file literally named so), dir/,
///   link-out -> <base>/secret.txt (outside), link-in -> app.css (inside)
///   <base>/secret.txt
private final class StaticTree {
    let base: String
    let root: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/static-test-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        base = String(cString: made)
        root = base + "/public"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/dir", withIntermediateDirectories: true)
        let files = [
            "app.css": "body{}", "app.js": "let a=1", "logo.svg": "<svg/>", "icon.png": "PNG", "favicon.ico": "ICO",
            "font.woff2": "WOFF", "notes.txt": "notes", "data.json": "{}", "page.html": "<p>", ".env": "SECRET=1",
            "sub/deep.txt": "deep", "%2e": "literal percent name",
        ]
        for (name, content) in files {
            try content.write(toFile: root + "/" + name, atomically: true, encoding: .utf8)
        }
        try "TOP SECRET".write(toFile: base + "/secret.txt", atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: root + "/link-out", withDestinationPath: base + "/secret.txt")
        try fm.createSymbolicLink(atPath: root + "/link-in", withDestinationPath: "app.css")
        try fm.createSymbolicLink(atPath: root + "/sub/up", withDestinationPath: "../..")
    }

    deinit {
        try? FileManager.default.removeItem(atPath: base)
    }
}

@Suite struct StaticFilesTests {
    private func withStatic(_ body: (Int) throws -> Void) throws {
        let tree = try StaticTree()
        let router = Router()
        router.mount(prefix: "/static/", StaticFiles(root: tree.root, urlPrefix: "/static/", cacheControl: "public, max-age=60"))
        try withServer(responder: router) { (_, port) throws in try body(port) }
    }

    @Test(arguments: [
        ("app.css", "text/css; charset=utf-8"), ("app.js", "text/javascript; charset=utf-8"), ("logo.svg", "image/svg+xml"),
        ("icon.png", "image/png"), ("favicon.ico", "image/x-icon"), ("font.woff2", "font/woff2"),
        ("notes.txt", "text/plain; charset=utf-8"), ("data.json", "application/json"), ("page.html", "text/html; charset=utf-8"),
    ])
    func knownExtensions_GetTheirContentType(name: String, type: String) throws {
        try withStatic { (port: Int) throws in
            let response = try get(port, "/static/" + name)
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == type)
            #expect(response.header("Cache-Control") == "public, max-age=60")
        }
    }

    @Test func file_HasStrongETagAndIfNoneMatchGives304() throws {
        try withStatic { (port: Int) throws in
            let first = try get(port, "/static/sub/deep.txt")
            #expect(first.text == "deep")
            let etag = try #require(first.header("ETag"))
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\""))
            #expect(!etag.hasPrefix("W/"))
            let again = try get(port, "/static/sub/deep.txt")
            #expect(again.header("ETag") == etag)

            let cached = try get(port, "/static/sub/deep.txt", headers: "If-None-Match: \"other\", \(etag)\r\n")
            #expect(cached.status == 304)
            #expect(cached.body.isEmpty)
            #expect(cached.header("ETag") == etag)
            #expect(cached.header("Cache-Control") == "public, max-age=60")
            #expect(try get(port, "/static/sub/deep.txt", headers: "If-None-Match: W/\(etag)\r\n").status == 304)
            #expect(try get(port, "/static/sub/deep.txt", headers: "If-None-Match: *\r\n").status == 304)
            #expect(try get(port, "/static/sub/deep.txt", headers: "If-None-Match: \"nope\"\r\n").status == 200)
        }
    }

    @Test func editedFile_IsServedAgainWithANewETag() throws {
        let tree = try StaticTree()
        let router = Router()
        router.mount(prefix: "/static/", StaticFiles(root: tree.root, urlPrefix: "/static/"))
        try withServer(responder: router) { (_, port) throws in
            let first = try get(port, "/static/notes.txt")
            #expect(first.text == "notes")
            #expect(try get(port, "/static/notes.txt").text == "notes")   // from the cache
            try "notes, edited".write(toFile: tree.root + "/notes.txt", atomically: true, encoding: .utf8)
            let second = try get(port, "/static/notes.txt")
            #expect(second.text == "notes, edited")
            #expect(second.header("ETag") != first.header("ETag"))
        }
    }

    @Test func head_HasLengthAndNoBody() throws {
        try withStatic { (port: Int) throws in
            let client = try TestClient(port: port)
            client.send("HEAD /static/notes.txt HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try client.readResponse(headRequest: true)
            #expect(response.status == 200)
            #expect(response.header("Content-Length") == "5")
            client.send("GET /static/app.css HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().text == "body{}")
        }
    }

    @Test func post_Is405() throws {
        try withStatic { (port: Int) throws in
            let response = try fetch(port, "POST /static/app.css HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
            #expect(response.status == 405)
            #expect(response.header("Allow") == "GET, HEAD")
        }
    }

    @Test(arguments: [
        "/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/.%2e/secret.txt", "/static/%2E%2E/secret.txt",
        "/static/..%2fsecret.txt", "/static/%2e%2e%2fsecret.txt", "/static/..%5csecret.txt", "/static/sub/..%2F..%2Fsecret.txt",
        "/static/app.css%00.txt", "/static/%252e%252e/secret.txt", "/static/%252e%252e%252fsecret.txt", "/static/link-out",
        "/static/sub/up/secret.txt", "/static/.env", "/static/%2eenv", "/static/sub/",
        "/static/dir", "/static/", "/static//etc/passwd", "/static/sub//deep.txt", "/static/./app.css", "/static/sub/../app.css",
        "/static/..", "/static/%2e", "/static/nonexistent.css", "/static/..\\secret.txt",
    ])
    func traversalAndHiddenPaths_NeverServeContents(path: String) throws {
        try withStatic { (port: Int) throws in
            let response = try get(port, path)
            #expect(response.status == 400 || response.status == 404, "\(path) -> \(response.status)")
            #expect(!response.text.contains("TOP SECRET"))
            #expect(!response.text.contains("SECRET=1"))
            #expect(!response.text.contains("body{}"))
        }
    }

    @Test func encodedSeparatorsAndNUL_Are400() throws {
        try withStatic { (port: Int) throws in
            for path in ["/static/sub%2fdeep.txt", "/static/sub%5cdeep.txt", "/static/app.css%00"] {
                #expect(try get(port, path).status == 400, "\(path)")
            }
        }
    }

    @Test func doubleEncodedName_IsDecodedOnceToALiteralName() throws {
        try withStatic { (port: Int) throws in
            let response = try get(port, "/static/%252e")
            #expect(response.status == 200)
            #expect(response.text == "literal percent name")
        }
    }

    @Test func symlinkInsideRoot_IsServed() throws {
        try withStatic { (port: Int) throws in
            #expect(try get(port, "/static/link-in").text == "body{}")
        }
    }

    @Test func contentTypeTable_FallsBackToOctetStream() {
        #expect(StaticFiles.contentType(forPath: "/a/b.unknown") == "application/octet-stream")
        #expect(StaticFiles.contentType(forPath: "noext") == "application/octet-stream")
        #expect(StaticFiles.contentType(forPath: "x.CSS") == "text/css; charset=utf-8")
    }
}
