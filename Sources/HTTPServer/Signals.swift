import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Write end of the pipe the signal handler reports to. Written once before the handler is
/// installed; the handler only calls write(2), which is async-signal-safe.
nonisolated(unsafe) private var signalPipeWriteFD: Int32 = -1
private let shutdownSignalLock = NSLock()
nonisolated(unsafe) private var shutdownSignalsInstalled = false

private let forwardSignal: @convention(c) (Int32) -> Void = { signalNumber in
    let savedErrno = errno
    var byte = UInt8(truncatingIfNeeded: signalNumber)
    _ = write(signalPipeWriteFD, &byte, 1)
    errno = savedErrno
}

/// Calls `action` once, on a background thread, on the first SIGTERM or SIGINT, and ignores
/// SIGPIPE so a peer that goes away cannot kill the process. A second signal ends the process
/// at once, for an operator who does not want to wait for the grace period. Only the first
/// call installs anything.
///
/// ```swift
/// installShutdownSignalHandlers { server.shutdown() }
/// server.waitUntilStopped()
/// ```
///
/// A plain handler writing to a pipe is used rather than a dispatch signal source: on Linux
/// those rely on the signal being blocked in every thread, which threads started earlier (by
/// the server or a database driver) do not do.
public func installShutdownSignalHandlers(_ action: @escaping () -> Void) {
    signal(SIGPIPE, SIG_IGN)
    shutdownSignalLock.lock()
    defer { shutdownSignalLock.unlock() }
    guard !shutdownSignalsInstalled else { return }
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { return }
    _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
    signalPipeWriteFD = fds[1]
    shutdownSignalsInstalled = true
    let readFD = fds[0]
    let thread = Thread {
        var fired = false
        var byte: UInt8 = 0
        while true {
            let n = read(readFD, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            if fired { _exit(128 + Int32(byte)) }
            fired = true
            action()
        }
    }
    thread.name = "signal-watcher"
    thread.start()
    signal(SIGTERM, forwardSignal)
    signal(SIGINT, forwardSignal)
    // A parent may have started us with these signals blocked (the mask is inherited across
    // fork and exec); unblock them here so a stop request is never left pending forever.
    var unblock = sigset_t()
    sigemptyset(&unblock)
    sigaddset(&unblock, SIGTERM)
    sigaddset(&unblock, SIGINT)
    pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
}
