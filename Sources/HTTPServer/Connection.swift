import RunSlots

/// One accepted socket and its request pipeline. Owned by the reactor thread; while a request
/// is with a worker (`processing`) the reactor leaves the socket alone and the worker only
/// writes the response to `fd`.
final class Connection {
    enum Phase {
        /// Waiting for or receiving a request.
        case reading
        /// A worker is running the responder and writing its answer.
        case processing
        /// The reactor is finishing a response the socket could not take at once.
        case writing
        /// The final response is sent and our side shut down; unread input is discarded
        /// briefly so the peer sees the response rather than a reset.
        case lingering
    }

    enum Item {
        case request(HTTPRequest)
        case failure(HTTPParseError)
    }

    let id: UInt64
    let fd: Int32
    let remoteAddress: String
    /// The peer's address without its port: what the per-client connection cap counts.
    let clientAddress: String
    /// When the connection was accepted (monotonic seconds), for its lifetime limit.
    let acceptedAt: Double
    var parser: HTTPRequestParser
    var phase: Phase = .reading
    /// When the current phase times out (monotonic seconds).
    var deadline: Double
    /// Whether `deadline` is the head deadline of a request whose bytes have started arriving
    /// (it is then not extended by further bytes).
    var headDeadlineSet = true
    var requestCount = 0
    var peerClosed = false
    var output: [UInt8] = []
    var outputOffset = 0
    var closeAfterOutput = false
    /// A streamed body that goes on once `output` is sent.
    var stream: StreamProgress?
    var lingerBytes = 0
    /// The events epoll currently watches for this socket, so re-arming is skipped when nothing
    /// changes (a keep-alive connection answered on the event loop needs no `epoll_ctl` at all).
    var registeredEvents: UInt32 = 0
    /// When the body being read must be complete (`bodyTimeout` after its first byte).
    var bodyDeadline = Double.infinity

    private var items = FIFOQueue<Item>()

    /// Whether the connection counts against its client's cap.
    var countedForClient = false
    /// Whether it waits in the reactor's list of pipelines to go on with next turn.
    var scheduled = false
    /// The reactor that owns this connection (set when it adopts it); workers hand it back there.
    var reactor: Reactor!

    init(id: UInt64, fd: Int32, remoteAddress: String, clientAddress: String, acceptedAt: Double,
         limits: HTTPParserLimits, deadline: Double) {
        self.id = id
        self.fd = fd
        self.remoteAddress = remoteAddress
        self.clientAddress = clientAddress
        self.acceptedAt = acceptedAt
        self.parser = HTTPRequestParser(limits: limits)
        self.deadline = deadline
    }

    var hasItems: Bool { !items.isEmpty }

    func enqueue(_ item: Item) {
        items.push(item)
    }

    func nextItem() -> Item? { items.pop() }

    func discardItems() {
        _ = items.removeAll()
    }
}
