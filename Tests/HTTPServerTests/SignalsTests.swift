import Foundation
import Testing
@testable import HTTPServer
#if canImport(Glibc)
import Glibc
#endif

@Suite struct SignalsTests {
    @Test func sigterm_RunsTheShutdownActionOnce() throws {
        let condition = NSCondition()
        var calls = 0
        installShutdownSignalHandlers {
            condition.lock()
            calls += 1
            condition.broadcast()
            condition.unlock()
        }
        // SIGPIPE is ignored from now on: a write to a closed socket is an error, not death.
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        close(fds[1])
        var byte: UInt8 = 1
        #expect(write(fds[0], &byte, 1) == -1)
        close(fds[0])

        kill(getpid(), SIGTERM)
        condition.lock()
        let limit = Date(timeIntervalSinceNow: 5)
        while calls == 0 && condition.wait(until: limit) {}
        let observed = calls
        condition.unlock()
        #expect(observed == 1)
    }
}
