import Foundation
import RunSlots

/// A bounded, lazily filled pool of driver connections, shared by the SQLite and PostgreSQL
/// drivers.
///
/// `acquire` hands out an idle connection, opens a new one while fewer than `size` are open,
/// or waits at most `acquireTimeout` and then throws `.unavailable`, so a saturated database
/// turns into 503 pages, never hung requests. The driver decides on `release` whether a
/// connection is healthy enough to reuse.
public final class ConnectionPool<Connection: AnyObject>: @unchecked Sendable {
    public let size: Int
    public let acquireTimeout: TimeInterval
    private let name: String
    private let open: () throws -> Connection
    private let closeConnection: (Connection) -> Void
    private let condition = NSCondition()
    private var idle: [Connection] = []
    private var openCount = 0
    private var closed = false
    private var figures = PoolStats()

    /// `first`, when given, is an already open connection the pool starts with (drivers open one
    /// at start-up so a bad address fails there, not on the first request).
    public init(name: String, size: Int, acquireTimeout: TimeInterval, first: Connection? = nil,
                open: @escaping () throws -> Connection, close: @escaping (Connection) -> Void) {
        self.name = name
        self.size = max(1, size)
        self.acquireTimeout = acquireTimeout
        self.open = open
        self.closeConnection = close
        if let first {
            idle.append(first)
            openCount = 1
        }
    }

    public func acquire() throws -> Connection {
        // An idle connection (or room for one) is taken at once; a wait for a busy one steps
        // aside from its running slot, since the holder may be waiting for one (RunSlots).
        if let ready = try take(waiting: false) { return ready }
        return try RunSlots.whileBlocked { try take(waiting: true)! }
    }

    /// A connection, or nil when every one is busy and `waiting` is false.
    private func take(waiting: Bool) throws -> Connection? {
        let deadline = Date(timeIntervalSinceNow: acquireTimeout)
        var waitStarted: Date?
        condition.lock()
        while true {
            if let started = waitStarted, closed || !idle.isEmpty || openCount < size {
                figures.waitSeconds += Date().timeIntervalSince(started)
                waitStarted = nil
            }
            if closed {
                condition.unlock()
                throw DatabaseError.unavailable("the database has been closed")
            }
            if let connection = idle.popLast() {
                figures.acquisitions += 1
                condition.unlock()
                return connection
            }
            if openCount < size {
                openCount += 1
                figures.acquisitions += 1
                condition.unlock()
                do {
                    return try open()
                } catch {
                    condition.lock()
                    openCount -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            if !waiting {
                condition.unlock()
                return nil
            }
            if waitStarted == nil {
                waitStarted = Date()
                figures.waits += 1
            }
            if !condition.wait(until: deadline) {
                figures.timeouts += 1
                figures.waitSeconds += Date().timeIntervalSince(waitStarted ?? Date())
                condition.unlock()
                throw DatabaseError.unavailable("all \(size) \(name) connections stayed busy for \(acquireTimeout) s")
            }
        }
    }

    /// Returns `connection`: back to the idle list when `reusable`, closed otherwise.
    /// `dropIdle` also closes every idle connection (the server went away, so they are dead too).
    public func release(_ connection: Connection, reusable: Bool, dropIdle: Bool = false) {
        var toClose: [Connection] = []
        condition.lock()
        if reusable && !closed {
            idle.append(connection)
        } else {
            openCount -= 1
            toClose.append(connection)
        }
        if dropIdle {
            toClose += idle
            openCount -= idle.count
            idle.removeAll()
        }
        condition.broadcast()
        condition.unlock()
        for c in toClose { closeConnection(c) }
    }

    /// How the pool has been used since it was made, and its connections now.
    public var stats: PoolStats {
        condition.lock()
        defer { condition.unlock() }
        var now = figures
        now.size = size
        now.open = openCount
        now.idle = idle.count
        return now
    }

    /// Closes the idle connections and refuses new acquisitions; busy ones close on release.
    public func close() {
        condition.lock()
        closed = true
        let connections = idle
        idle.removeAll()
        openCount -= connections.count
        condition.broadcast()
        condition.unlock()
        for connection in connections { closeConnection(connection) }
    }
}

/// A connection pool's figures, for a metrics page.
public struct PoolStats: Sendable {
    /// The pool's size, connections open now and of those idle.
    public var size = 0
    public var open = 0
    public var idle = 0
    /// Connections handed out, times a caller had to wait for one, seconds spent waiting, and
    /// waits that gave up (`DatabaseError.unavailable`).
    public var acquisitions = 0
    public var waits = 0
    public var waitSeconds = 0.0
    public var timeouts = 0

    public init() {}
}
