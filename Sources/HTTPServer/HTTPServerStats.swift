/// What an `HTTPServer` is doing, for a metrics page: gauges as of the reactor's last turn
/// (at most ~50 ms old) and counters since start.
public struct HTTPServerStats: Sendable {
    /// Connections open now, and of those: waiting for a request (idle keep-alive), receiving
    /// one, and having a response written by the reactor. The rest are with a worker.
    public var openConnections = 0
    public var idleConnections = 0
    public var readingConnections = 0
    public var writingConnections = 0
    /// The open-connection limit in force (the configured one, lowered to the open-file limit).
    public var connectionLimit = 0
    /// Requests waiting for a worker, workers running one, and the pool's size.
    public var queuedRequests = 0
    public var busyWorkers = 0
    public var workerThreads = 0
    /// Of the busy workers, those waiting for a running slot (`ServerConfiguration.runningHandlers`).
    public var waitingForSlot = 0
    /// Connections accepted since start.
    public var acceptedConnections = 0
    /// Connections answered 503 at accept: the server's limit, or one client's cap.
    public var rejectedConnections = 0
    public var rejectedPerClient = 0
    /// Requests answered 503 because the queue was full or they waited in it too long.
    public var rejectedQueueFull = 0
    public var rejectedQueueWait = 0
    /// Requests dropped unanswered because their client had hung up before they ran.
    public var droppedGoneClients = 0
    /// Reactor loop turns since start.
    public var turns = 0

    public init() {}

    /// Adds one reactor's gauges and counters to these (the limit is the server's, not summed).
    mutating func add(_ reactor: HTTPServerStats) {
        openConnections += reactor.openConnections
        idleConnections += reactor.idleConnections
        readingConnections += reactor.readingConnections
        writingConnections += reactor.writingConnections
        connectionLimit = reactor.connectionLimit
        acceptedConnections += reactor.acceptedConnections
        rejectedConnections += reactor.rejectedConnections
        rejectedPerClient += reactor.rejectedPerClient
        rejectedQueueFull += reactor.rejectedQueueFull
        turns += reactor.turns
    }
}
