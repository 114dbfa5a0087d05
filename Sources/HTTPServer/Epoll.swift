#if canImport(Glibc)
import CEpoll
import Glibc

/// epoll, eventfd and accept4, through the `CEpoll` shim (Swift's Glibc module does not export
/// these headers, and `struct epoll_event` is packed on x86_64, so its layout stays in C).
enum Epoll {
    static let input = cepoll_in
    static let output = cepoll_out
    static let error = cepoll_err
    static let hangUp = cepoll_hup
    static let oneShot = cepoll_oneshot

    static func create() -> Int32 { cepoll_create() }

    static func add(_ epollFD: Int32, _ fd: Int32, events: UInt32, data: UInt64) -> Int32 {
        cepoll_add(epollFD, fd, events, data)
    }

    static func modify(_ epollFD: Int32, _ fd: Int32, events: UInt32, data: UInt64) -> Int32 {
        cepoll_modify(epollFD, fd, events, data)
    }

    static func delete(_ epollFD: Int32, _ fd: Int32) -> Int32 { cepoll_delete(epollFD, fd) }

    /// Room for `capacity` events; release with `freeEvents`.
    static func allocateEvents(capacity: Int) -> UnsafeMutableRawPointer { cepoll_allocate_events(Int32(capacity))! }
    static func freeEvents(_ events: UnsafeMutableRawPointer) { cepoll_free_events(events) }

    /// Waits for events into `buffer`; read them with `event(in:at:)`.
    static func wait(_ epollFD: Int32, _ buffer: UnsafeMutableRawPointer, capacity: Int, timeoutMilliseconds: Int32) -> Int32 {
        cepoll_wait(epollFD, buffer, Int32(capacity), timeoutMilliseconds)
    }

    static func event(in buffer: UnsafeMutableRawPointer, at index: Int) -> (events: UInt32, data: UInt64) {
        (cepoll_event_flags(buffer, Int32(index)), cepoll_event_data(buffer, Int32(index)))
    }

    static func makeEventFD() -> Int32 { cepoll_eventfd() }

    /// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC.
    static func accept(_ listenFD: Int32, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> Int32 {
        cepoll_accept(listenFD, address, length)
    }
}
#endif
