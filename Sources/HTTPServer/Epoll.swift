#if canImport(Glibc)
import Glibc

/// epoll, eventfd and accept4 from glibc. Swift's Glibc module does not export
/// `<sys/epoll.h>` or `<sys/eventfd.h>`, and this target has no C shim, so the functions are
/// looked up once by name and the constants and `struct epoll_event` layout are spelled out
/// from the kernel ABI.
enum Epoll {
    static let input: UInt32 = 0x001
    static let output: UInt32 = 0x004
    static let error: UInt32 = 0x008
    static let hangUp: UInt32 = 0x010
    static let oneShot: UInt32 = 1 << 30

    static let controlAdd: Int32 = 1
    static let controlDelete: Int32 = 2
    static let controlModify: Int32 = 3

    static let closeOnExec: Int32 = 0o2000000   // EPOLL_CLOEXEC == EFD_CLOEXEC == O_CLOEXEC
    static let eventNonBlocking: Int32 = 0o4000 // EFD_NONBLOCK == O_NONBLOCK

    /// `struct epoll_event` is packed on x86_64 (12 bytes) and naturally aligned elsewhere.
    #if arch(x86_64)
    static let eventStride = 12
    static let dataOffset = 4
    #else
    static let eventStride = 16
    static let dataOffset = 8
    #endif

    private typealias CreateFunction = @convention(c) (Int32) -> Int32
    private typealias ControlFunction = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    private typealias WaitFunction = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32
    private typealias EventFDFunction = @convention(c) (UInt32, Int32) -> Int32
    private typealias Accept4Function = @convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32

    private static let library = dlopen(nil, RTLD_NOW)

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let pointer = dlsym(library, name) else { return nil }
        return unsafeBitCast(pointer, to: type)
    }

    private static let createFunction = symbol("epoll_create1", as: CreateFunction.self)
    private static let controlFunction = symbol("epoll_ctl", as: ControlFunction.self)
    private static let waitFunction = symbol("epoll_wait", as: WaitFunction.self)
    private static let eventFDFunction = symbol("eventfd", as: EventFDFunction.self)
    private static let accept4Function = symbol("accept4", as: Accept4Function.self)

    static var isAvailable: Bool {
        createFunction != nil && controlFunction != nil && waitFunction != nil && eventFDFunction != nil
    }

    static func create() -> Int32 {
        guard let f = createFunction else { errno = ENOSYS; return -1 }
        return f(closeOnExec)
    }

    static func control(_ epollFD: Int32, _ operation: Int32, _ fd: Int32, events: UInt32, data: UInt64) -> Int32 {
        guard let f = controlFunction else { errno = ENOSYS; return -1 }
        var raw: (UInt64, UInt64) = (0, 0)
        return withUnsafeMutableBytes(of: &raw) { buffer in
            buffer.storeBytes(of: events, toByteOffset: 0, as: UInt32.self)
            buffer.storeBytes(of: data, toByteOffset: dataOffset, as: UInt64.self)
            return f(epollFD, operation, fd, buffer.baseAddress)
        }
    }

    /// Waits for events into `buffer` (room for `capacity` events); read them with `event(at:)`.
    static func wait(_ epollFD: Int32, _ buffer: UnsafeMutableRawPointer, capacity: Int, timeoutMilliseconds: Int32) -> Int32 {
        guard let f = waitFunction else { errno = ENOSYS; return -1 }
        return f(epollFD, buffer, Int32(capacity), timeoutMilliseconds)
    }

    static func event(in buffer: UnsafeMutableRawPointer, at index: Int) -> (events: UInt32, data: UInt64) {
        let base = UnsafeRawPointer(buffer) + index * eventStride
        return (base.loadUnaligned(as: UInt32.self), base.loadUnaligned(fromByteOffset: dataOffset, as: UInt64.self))
    }

    static func makeEventFD() -> Int32 {
        guard let f = eventFDFunction else { errno = ENOSYS; return -1 }
        return f(0, eventNonBlocking | closeOnExec)
    }

    /// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC, falling back to accept + fcntl.
    static func accept(_ listenFD: Int32, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> Int32 {
        if let f = accept4Function {
            return f(listenFD, address, length, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        }
        let fd = Glibc.accept(listenFD, address, length)
        if fd >= 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        return fd
    }
}
#endif
