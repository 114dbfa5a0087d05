import Dispatch
import Foundation

/// Admission for request handlers: at most `capacity` of them run at once, in the order they
/// asked. A handler about to block (a PostgreSQL round trip, a busy connection pool, the SQLite
/// write lock) steps aside for the wait with `RunSlots.whileBlocked`, so threads waiting on
/// something else never keep runnable work off the cores.
///
/// Why: handlers on SQLite are CPU-bound. With 16 worker threads time-slicing 2 cores, a request
/// waits behind slices of every other request and the tail grows (p99 27–30 ms against 10–15 ms
/// with 3 threads; see the README). PostgreSQL handlers spend much of their time
/// waiting on the server, which needs many threads. Slots sized to the cores serve both: the
/// threads are many, the running handlers few.
///
/// Every wait a slot holder makes on another thread must step aside, or the two can deadlock:
/// the other thread may itself be waiting for a slot.
///
/// A worker pool takes requests with `acquireForNewWork`, `keepForNextWork` and `releaseSlot`:
/// a thread holds a slot before it takes a request and keeps it for the next one, so under
/// load no slot passes between threads per request (see `HTTPServer.WorkerPool`).
public final class RunSlots: @unchecked Sendable {
    public let capacity: Int
    private let lock = NSLock()
    private var free: Int
    /// Threads in the middle of a handler (back from a step-aside, or in `run`), in order.
    private var returning = FIFOQueue<Seat>()
    /// Worker threads that want a slot to take a new request (`acquireForNewWork`), in order.
    /// A freed slot goes to `returning` first: what has started finishes first.
    private var seeking = FIFOQueue<Seat>()

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        self.free = self.capacity
    }

    /// Two per core, plus one. Fewer leave cores idle while a slot is handed from one thread to
    /// the next (a wake-up each); more bring back the time-slicing. On 2 cores (SQLite table,
    /// 100k rows, quiet seconds of the minute): 3 slots gave 8,538–8,936 req/s, p99 10–11 ms;
    /// 5 gave 8,879–9,701, p99 10 ms; no limit 9,629–10,886, p99 22–23 ms.
    public static var defaultCapacity: Int { ProcessInfo.processInfo.activeProcessorCount * 2 + 1 }

    /// Handlers waiting for a slot now.
    public var waiting: Int {
        lock.lock()
        defer { lock.unlock() }
        return returning.count + seeking.count
    }

    /// Runs `body` holding a slot of these slots on the calling thread.
    public func run<T>(_ body: () throws -> T) rethrows -> T {
        let seat = Seat.current(for: self)
        acquire(seat)
        defer { release(seat) }
        return try body()
    }

    /// Runs `body`, a wait on something outside this thread, without the calling thread's slot,
    /// and takes a slot again after it (behind those already waiting). A thread holding no slot
    /// (a background thread) just runs `body`.
    public static func whileBlocked<T>(_ body: () throws -> T) rethrows -> T {
        guard let seat = Seat.held else { return try body() }
        seat.slots.release(seat)
        defer { seat.slots.acquire(seat) }
        return try body()
    }

    // MARK: For a worker pool that takes requests only while holding a slot

    /// Waits for a slot to take a new request with, behind the threads already in a handler.
    public func acquireForNewWork() {
        acquire(Seat.current(for: self), seeking: true)
    }

    /// Gives the calling thread's slot up (its pool has no request for it).
    public func releaseSlot() {
        release(Seat.current(for: self))
    }

    /// After a request, with another one queued: true when the calling thread may keep its slot
    /// and take that request itself (no thread is waiting to finish a handler). Otherwise the
    /// slot goes to the first such thread and the caller holds none. Keeping the slot spares the
    /// wake-up a hand-off costs, one per request under load.
    public func keepForNextWork() -> Bool {
        let seat = Seat.current(for: self)
        lock.lock()
        guard let next = returning.pop() else {
            lock.unlock()
            return true
        }
        lock.unlock()
        seat.holding = false
        next.turn.signal()
        return false
    }

    private func acquire(_ seat: Seat, seeking isSeeking: Bool = false) {
        lock.lock()
        if free > 0 && returning.count == 0 && seeking.count == 0 {
            free -= 1
            lock.unlock()
        } else {
            if isSeeking { seeking.push(seat) } else { returning.push(seat) }
            lock.unlock()
            seat.turn.wait()   // `release` hands its slot straight to the first in line
        }
        seat.holding = true
    }

    private func release(_ seat: Seat) {
        seat.holding = false
        lock.lock()
        guard let next = returning.pop() ?? seeking.pop() else {
            free += 1
            lock.unlock()
            return
        }
        lock.unlock()
        next.turn.signal()
    }

    /// A thread's place with one set of slots, kept in thread-local storage.
    final class Seat {
        let slots: RunSlots
        let turn = DispatchSemaphore(value: 0)
        var holding = false

        init(slots: RunSlots) { self.slots = slots }

        private static let key: pthread_key_t = {
            var key = pthread_key_t()
            pthread_key_create(&key) { raw in if let raw { Unmanaged<Seat>.fromOpaque(raw).release() } }
            return key
        }()

        /// The calling thread's seat for `slots`, made on first use.
        static func current(for slots: RunSlots) -> Seat {
            if let raw = pthread_getspecific(key) {
                let seat = Unmanaged<Seat>.fromOpaque(raw).takeUnretainedValue()
                if seat.slots === slots { return seat }
                Unmanaged<Seat>.fromOpaque(raw).release()
            }
            let seat = Seat(slots: slots)
            pthread_setspecific(key, Unmanaged.passRetained(seat).toOpaque())
            return seat
        }

        /// The calling thread's seat if it holds a slot now.
        static var held: Seat? {
            guard let raw = pthread_getspecific(key) else { return nil }
            let seat = Unmanaged<Seat>.fromOpaque(raw).takeUnretainedValue()
            return seat.holding ? seat : nil
        }
    }
}
