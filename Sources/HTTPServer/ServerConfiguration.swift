import Foundation
import RunSlots

/// Settings of an `HTTPServer`. Every limit and deadline has a safe default; tests shorten them.
///
/// ```swift
/// var configuration = ServerConfiguration()
/// configuration.port = 0            // ephemeral; read `server.port` after `start()`
/// configuration.headTimeout = 3
/// ```
public struct ServerConfiguration {
    /// Address to listen on: an IPv4 or IPv6 literal, or a host name.
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks a free one.
    public var port: Int = 8080
    /// Request line plus header fields, in bytes. Beyond: 431 and close.
    public var maxHeadBytes = 16 * 1024
    /// The request line alone, in bytes. Beyond: 414 and close.
    public var maxRequestLineBytes = 8 * 1024
    /// Request body, in bytes. Beyond: 413 and close, decided from Content-Length before any
    /// of the body is read.
    public var maxBodyBytes = 1 << 20
    /// Seconds to receive a complete request head (from the connection's accept for the first
    /// request, from the first byte for later ones). Beyond: 408 and close.
    public var headTimeout: Double = 10
    /// Longest gap between two pieces of a request body, and longest stall while writing a
    /// response, in seconds. Beyond: 408 (or a plain close while writing).
    public var bodyIdleTimeout: Double = 10
    /// Seconds for a whole request body, however steadily it trickles in, so a client dripping
    /// a byte just inside the idle timeout cannot hold a connection for ever. Beyond: 408.
    public var bodyTimeout: Double = 60
    /// Seconds an idle keep-alive connection is kept between requests; then closed quietly.
    public var keepAliveTimeout: Double = 5
    /// Requests served on one connection; the last one is answered with `Connection: close`.
    public var maxRequestsPerConnection = 1000
    /// Open connections; a connection beyond it gets 503 and is closed at once. Lowered at
    /// start to fit the process's open-file limit (which is first raised to its hard limit).
    public var maxConnections = 4096
    /// Open connections from one client address, so one client cannot hold every slot; beyond
    /// it, 503 and close. 0 turns the cap off.
    public var maxConnectionsPerClient = 64
    /// Addresses the per-client cap does not apply to: a reverse proxy in front carries every
    /// user's connections from one address.
    public var connectionCapExempt: @Sendable (String) -> Bool = { _ in false }
    /// Seconds a connection may live. A response after that closes it, so a client cannot hold
    /// a slot for hours by spacing out requests just inside every deadline.
    public var maxConnectionLifetime: Double = 300
    /// Requests waiting for a worker. Beyond: 503 with `Retry-After` and close, so a backlog
    /// stays bounded instead of every waiting client timing out.
    public var maxQueuedRequests = 1024
    /// Seconds a request may wait for a worker; one that waited longer is answered 503 without
    /// running (its client has most likely given up).
    public var maxQueueWait: Double = 30
    /// Peer addresses whose `X-Request-Id` is taken as the request's id (a proxy that made one
    /// already); from anyone else the header is ignored and the server makes an id.
    public var requestIDTrusted: @Sendable (String) -> Bool = { _ in false }
    /// zlib level for `Content-Encoding: gzip` (1 fastest … 9 smallest); 0 turns it off. Only
    /// text-like bodies of at least `compressionMinBytes` are compressed, never for HEAD, 304
    /// or a streamed body, and only for clients that send `Accept-Encoding: gzip`.
    public var compressionLevel = 4
    public var compressionMinBytes = 1024
    /// Pipelined responses answered on the event loop for one connection before the others get
    /// a turn.
    public var maxResponsesPerTurn = 64
    /// Threads that run the responder (and may block on a database).
    public var workerThreads = 16
    /// Handlers running at once, of those threads; one that blocks on a database or a lock
    /// steps aside for the wait (`RunSlots`). 0: as many as there are threads.
    public var runningHandlers = RunSlots.defaultCapacity
    /// Event-loop threads. One per core: a cheap request (`/healthz`, a 304) is answered on the
    /// loop that read it, so one loop would cap the server at one core's worth of them.
    public var reactorThreads = min(max(1, ProcessInfo.processInfo.activeProcessorCount), 8)
    /// Seconds in-flight requests get to finish after `shutdown()`.
    public var shutdownGracePeriod: Double = 10
    /// Header fields per request. Beyond: 431 and close.
    public var maxHeaderCount = 100

    /// The defaults.
    public init() {}

    var parserLimits: HTTPParserLimits {
        HTTPParserLimits(maxHeadBytes: maxHeadBytes, maxRequestLineBytes: maxRequestLineBytes,
                         maxBodyBytes: maxBodyBytes, maxHeaderCount: maxHeaderCount)
    }
}
