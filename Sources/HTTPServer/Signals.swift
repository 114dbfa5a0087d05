import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private let signalQueue = DispatchQueue(label: "http.signals")
nonisolated(unsafe) private var signalSources: [DispatchSourceSignal] = []

/// Calls `action` once on the first SIGTERM or SIGINT (on a background queue), and ignores
/// SIGPIPE so a peer that goes away cannot kill the process. A second signal terminates the
/// process at once, for an operator who does not want to wait for the grace period.
///
/// ```swift
/// installShutdownSignalHandlers { server.shutdown() }
/// server.waitUntilStopped()
/// ```
public func installShutdownSignalHandlers(_ action: @escaping () -> Void) {
    signal(SIGPIPE, SIG_IGN)
    var fired = false
    for signalNumber in [SIGTERM, SIGINT] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: signalQueue)
        source.setEventHandler {
            if fired {
                _exit(128 + signalNumber)
            }
            fired = true
            action()
        }
        source.resume()
        signalQueue.sync { signalSources.append(source) }
    }
}
