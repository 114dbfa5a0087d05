#if canImport(Glibc)
import CEpoll
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors from starting the server.
public enum HTTPServerError: Error, CustomStringConvertible {
    /// Another socket is already bound to the address.
    case addressInUse(host: String, port: Int)
    /// The host could not be resolved to a listening address.
    case invalidAddress(host: String, port: Int, reason: String)
    /// A system call failed.
    case systemCall(String, errno: Int32)
    /// `start()` was called twice.
    case alreadyStarted

    /// A message naming the address and the cause.
    public var description: String {
        switch self {
        case .addressInUse(let host, let port):
            return "cannot listen on \(host):\(port): address already in use (is another server running?)"
        case .invalidAddress(let host, let port, let reason):
            return "cannot listen on \(host):\(port): \(reason)"
        case .systemCall(let name, let code):
            return "\(name) failed: \(String(cString: strerror(code)))"
        case .alreadyStarted:
            return "the server was already started"
        }
    }
}

enum Socket {
    static func monotonicNow() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Creates a non-blocking listening socket; returns it with the bound port.
    static func listen(host: String, port: Int, backlog: Int32) throws -> (fd: Int32, port: Int) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw HTTPServerError.invalidAddress(host: host, port: port, reason: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(list) }

        var lastError: Error = HTTPServerError.invalidAddress(host: host, port: port, reason: "no usable address")
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | cepoll_socket_flags, 0)
            if fd < 0 {
                lastError = HTTPServerError.systemCall("socket", errno: errno)
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
                let code = errno
                close(fd)
                lastError = code == EADDRINUSE
                    ? HTTPServerError.addressInUse(host: host, port: port)
                    : HTTPServerError.systemCall("bind", errno: code)
                continue
            }
            if Glibc.listen(fd, backlog) != 0 {
                let code = errno
                close(fd)
                lastError = code == EADDRINUSE
                    ? HTTPServerError.addressInUse(host: host, port: port)
                    : HTTPServerError.systemCall("listen", errno: code)
                continue
            }
            return (fd, boundPort(fd) ?? port)
        }
        throw lastError
    }

    static func boundPort(_ fd: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { return nil }
        return addressAndPort(&storage).port
    }

    static func addressAndPort(_ storage: inout sockaddr_storage) -> (address: String, port: Int) {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin -> (String, Int) in
                    var addr = sin.pointee.sin_addr
                    inet_ntop(AF_INET, &addr, &text, socklen_t(text.count))
                    return (String(cString: text), Int(UInt16(bigEndian: sin.pointee.sin_port)))
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 -> (String, Int) in
                    var addr = sin6.pointee.sin6_addr
                    inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count))
                    return ("[" + String(cString: text) + "]", Int(UInt16(bigEndian: sin6.pointee.sin6_port)))
                }
            }
        default:
            return ("", 0)
        }
    }

    /// Sends as much as the socket takes without blocking. Returns the bytes sent, or nil when
    /// the connection is broken.
    static func sendSome(_ fd: Int32, _ bytes: [UInt8], from offset: Int) -> Int? {
        var sent = 0
        let total = bytes.count - offset
        while sent < total {
            let n = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset + sent, total - sent, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if n > 0 {
                sent += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return sent
            } else {
                return nil
            }
        }
        return sent
    }

    /// Whether the peer has hung up or shut down its sending side (POLLRDHUP), as a client
    /// that gave up waiting does. Like nginx, a half-close before the answer counts as gone.
    static func peerHasGone(_ fd: Int32) -> Bool {
        let readHangUp: Int16 = 0x2000  // POLLRDHUP, not exported to Swift
        var entry = pollfd(fd: fd, events: Int16(POLLIN) | readHangUp, revents: 0)
        guard poll(&entry, 1, 0) == 1 else { return false }
        return entry.revents & (readHangUp | Int16(POLLHUP) | Int16(POLLERR) | Int16(POLLNVAL)) != 0
    }
}

/// The process's open-file limit, which bounds how many connections can be open.
enum FileLimit {
    /// Raises the soft limit to the hard one (capped at a million: a larger table of
    /// descriptors costs memory for nothing). `raisedFrom` is the old soft limit if it moved.
    static func raiseToHardLimit() -> (current: Int, raisedFrom: Int?) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (1024, nil) }
        let old = limit.rlim_cur
        let target = min(limit.rlim_max, 1 << 20)
        guard target > old else { return (Int(clamping: old), nil) }
        limit.rlim_cur = target
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (Int(clamping: old), nil) }
        return (Int(clamping: target), Int(clamping: old))
    }
}
