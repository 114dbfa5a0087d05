import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Serves regular files below a root directory, with a content type by extension, a strong
/// `ETag` (size, modification time and inode), `If-None-Match` -> 304 and `Cache-Control`.
///
/// ```swift
/// router.mount(prefix: "/static/", StaticFiles(root: "Public", urlPrefix: "/static/"))
/// ```
///
/// Nothing outside the root is ever served. The decision is made on the raw path, one segment
/// at a time: encoded `/` (`%2f`), `\` (`%5c`) and NUL (`%00`) are refused with 400; segments
/// are decoded exactly once (so `%252e` names a file literally called `%2e`), and a decoded
/// segment that is empty, starts with `.` (`..`, `%2e%2e`, `.%2e`, dotfiles) or holds a
/// backslash or control character is a 404. The resolved path must lie inside the resolved
/// root (symbolic links pointing outside are refused) and must be a regular file.
public final class StaticFiles: HTTPResponder {
    private let root: String
    private let urlPrefix: String
    private let cacheControl: String

    /// Serves files under `root` for request paths starting with `urlPrefix`.
    public init(root: String, urlPrefix: String = "/static/", cacheControl: String = "public, max-age=3600") {
        self.root = root
        self.urlPrefix = urlPrefix
        self.cacheControl = cacheControl
    }

    /// Answers GET and HEAD with the file, 304, 400, 404 or 405.
    public func respond(to request: HTTPRequest) throws -> HTTPResponse {
        guard request.method == "GET" || request.method == "HEAD" else {
            var response = HTTPResponse.text("Method Not Allowed\n", status: 405)
            response.headers.set("Allow", "GET, HEAD")
            return response
        }
        let file: ResolvedFile
        switch resolve(rawPath: request.rawPath) {
        case .failure(let status):
            return .text(status == 400 ? "Bad Request\n" : "Not Found\n", status: status)
        case .success(let resolved):
            file = resolved
        }

        var headers = HTTPHeaders()
        headers.add("Content-Type", Self.contentType(forPath: file.path))
        headers.add("ETag", file.etag)
        headers.add("Cache-Control", cacheControl)
        if let ifNoneMatch = request.headers["If-None-Match"], Self.matches(ifNoneMatch, etag: file.etag) {
            return HTTPResponse(status: 304, headers: headers)
        }
        guard let body = cachedContents(of: file) else {
            return .text("Not Found\n", status: 404)
        }
        if body.count >= 1024, Gzip.isCompressible(contentType: headers["Content-Type"]) {
            // The server would gzip it on every request; the cached gzip form costs nothing.
            headers.add("Vary", "Accept-Encoding")
            if request.method == "GET", Gzip.isAccepted(by: request), let compressed = cachedGzip(of: file, body: body) {
                headers.set("Content-Encoding", "gzip")
                headers.set("ETag", "W/" + file.etag)
                return HTTPResponse(status: 200, headers: headers, body: compressed)
            }
        }
        return HTTPResponse(status: 200, headers: headers, body: body)
    }

    /// Gzip forms of cached files, made once per file version at the smallest setting.
    private var gzipCache: [String: (etag: String, body: [UInt8])] = [:]

    private func cachedGzip(of file: ResolvedFile, body: [UInt8]) -> [UInt8]? {
        cacheLock.lock()
        if let hit = gzipCache[file.path], hit.etag == file.etag {
            cacheLock.unlock()
            return hit.body
        }
        cacheLock.unlock()
        guard let compressed = Gzip.compress(body, level: 9), compressed.count < body.count else { return nil }
        if body.count <= Self.maxCachedFileBytes {
            cacheLock.lock()
            if cache[file.path]?.etag == file.etag { gzipCache[file.path] = (file.etag, compressed) }
            cacheLock.unlock()
        }
        return compressed
    }

    /// Contents of small files, keyed by path and validated by the ETag (size and mtime), so an
    /// edited file is read again and a hot stylesheet is not read from disk on every request.
    private let cacheLock = NSLock()
    private var cache: [String: (etag: String, body: [UInt8])] = [:]
    private var cachedBytes = 0
    static let maxCachedFileBytes = 512 * 1024
    static let maxCacheBytes = 16 * 1024 * 1024

    private func cachedContents(of file: ResolvedFile) -> [UInt8]? {
        cacheLock.lock()
        if let hit = cache[file.path], hit.etag == file.etag {
            cacheLock.unlock()
            return hit.body
        }
        cacheLock.unlock()
        guard let body = Self.read(path: file.path, expectedSize: file.size) else { return nil }
        if body.count <= Self.maxCachedFileBytes {
            cacheLock.lock()
            if let old = cache[file.path] { cachedBytes -= old.body.count }
            if cachedBytes + body.count <= Self.maxCacheBytes {
                cache[file.path] = (file.etag, body)
                cachedBytes += body.count
            }
            cacheLock.unlock()
        }
        return body
    }

    private struct ResolvedFile {
        let path: String
        let size: Int
        let etag: String
    }

    private enum Resolution {
        case success(ResolvedFile)
        case failure(Int)
    }

    private func resolve(rawPath: String) -> Resolution {
        guard rawPath.hasPrefix(urlPrefix) else { return .failure(404) }
        let relative = rawPath.dropFirst(urlPrefix.count)
        var segments: [String] = []
        for rawSegment in relative.split(separator: "/", omittingEmptySubsequences: false) {
            let lowered = rawSegment.lowercased()
            if lowered.contains("%2f") || lowered.contains("%5c") || lowered.contains("%00") {
                return .failure(400)
            }
            let segment = percentDecodePath(rawSegment)
            if segment.isEmpty || segment.hasPrefix(".") { return .failure(404) }
            for b in segment.utf8 where b < 0x20 || b == 0x7F || b == UInt8(ascii: "\\") || b == UInt8(ascii: "/") {
                return .failure(404)
            }
            segments.append(segment)
        }
        guard !segments.isEmpty, let realRoot = Self.realPath(root) else { return .failure(404) }
        let candidate = realRoot + "/" + segments.joined(separator: "/")
        guard let resolved = Self.realPath(candidate) else { return .failure(404) }
        let inside = realRoot == "/" ? resolved.hasPrefix("/") : resolved.hasPrefix(realRoot + "/")
        guard inside else { return .failure(404) }

        var info = stat()
        guard stat(resolved, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return .failure(404) }
        let size = Int(info.st_size)
        let etag = "\"" + String(UInt64(size), radix: 16) + "-" + String(UInt64(bitPattern: Int64(info.st_mtim.tv_sec)), radix: 16)
            + String(UInt64(info.st_mtim.tv_nsec), radix: 16) + "-" + String(UInt64(info.st_ino), radix: 16) + "\""
        return .success(ResolvedFile(path: resolved, size: size, etag: etag))
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func read(path: String, expectedSize: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(expectedSize)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// Weak comparison, as RFC 9110 prescribes for If-None-Match.
    public static func matches(_ ifNoneMatch: String, etag: String) -> Bool {
        let ours = etag.hasPrefix("W/") ? String(etag.dropFirst(2)) : etag
        for candidate in ifNoneMatch.split(separator: ",") {
            var tag = trimOWS(candidate)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
            if tag == ours { return true }
        }
        return false
    }

    /// The media type for a file name's extension; `application/octet-stream` when unknown.
    public static func contentType(forPath path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: ".") else { return "application/octet-stream" }
        switch name[name.index(after: dot)...].lowercased() {
        case "css": return "text/css; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "html", "htm": return "text/html; charset=utf-8"
        case "txt", "md": return "text/plain; charset=utf-8"
        case "json": return "application/json"
        case "map": return "application/json"
        case "xml": return "application/xml"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "webp": return "image/webp"
        case "avif": return "image/avif"
        case "ico": return "image/x-icon"
        case "woff2": return "font/woff2"
        case "woff": return "font/woff"
        case "ttf": return "font/ttf"
        case "otf": return "font/otf"
        case "pdf": return "application/pdf"
        case "wasm": return "application/wasm"
        case "webmanifest": return "application/manifest+json"
        default: return "application/octet-stream"
        }
    }
}
