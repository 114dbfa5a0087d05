import Foundation
import HTTPServer
import Logging

/// A model server's metrics page on a real socket: serves whatever `page` is set to (or
/// `status` without a body) and counts the requests it answered.
final class MetricsTarget: HTTPResponder {
    private let lock = NSLock()
    private var _page = ""
    private var _status = 200
    private var _requests = 0
    private var _extraHeaders: [(String, String)] = []
    private(set) var server: HTTPServer!

    init() throws {
        var config = ServerConfiguration()
        config.port = 0
        config.workerThreads = 2
        var logger = Logger(label: "metrics-target")
        logger.logLevel = .critical
        server = HTTPServer(configuration: config, responder: self, logger: logger)
        try server.start()
    }

    var url: String { "http://127.0.0.1:\(server.port)/metrics" }

    var page: String {
        get { lock.lock(); defer { lock.unlock() }; return _page }
        set { lock.lock(); _page = newValue; lock.unlock() }
    }
    var status: Int {
        get { lock.lock(); defer { lock.unlock() }; return _status }
        set { lock.lock(); _status = newValue; lock.unlock() }
    }
    var extraHeaders: [(String, String)] {
        get { lock.lock(); defer { lock.unlock() }; return _extraHeaders }
        set { lock.lock(); _extraHeaders = newValue; lock.unlock() }
    }
    var requests: Int { lock.lock(); defer { lock.unlock() }; return _requests }

    func respond(to request: HTTPRequest) throws -> HTTPResponse {
        lock.lock()
        _requests += 1
        let (page, status, extra) = (_page, _status, _extraHeaders)
        lock.unlock()
        var response = HTTPResponse(status: status, body: status == 200 ? Array(page.utf8) : [])
        response.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        for (name, value) in extra { response.headers.set(name, value) }
        return response
    }

    func stop() {
        server.shutdown()
        server.waitUntilStopped()
    }

    /// A `prometheus_client`-style page: `requests_total` by status and a latency histogram
    /// with the given cumulative bucket counts (bounds in seconds, `+Inf` last).
    static func page(ok: Int, failed: Int, buckets: [(String, Int)]) -> String {
        var lines = [
            "# HELP requests_total Requests by status.",
            "# TYPE requests_total counter",
            "requests_total{status=\"200\"} \(ok)",
        ]
        if failed > 0 { lines.append("requests_total{status=\"500\"} \(failed)") }
        lines += ["# HELP request_latency_seconds Latency.", "# TYPE request_latency_seconds histogram"]
        for (le, count) in buckets { lines.append("request_latency_seconds_bucket{le=\"\(le)\"} \(count)") }
        lines.append("request_latency_seconds_count \(buckets.last?.1 ?? 0)")
        lines.append("request_latency_seconds_sum 12.5")
        return lines.joined(separator: "\n") + "\n"
    }
}
