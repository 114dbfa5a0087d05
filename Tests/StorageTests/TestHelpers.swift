import Foundation
import Storage
import TrainyardTestSupport

/// Picks the statement for the dialect under test.
func sql(_ db: Database, sqlite: String, postgres: String) -> String {
    db.dialect == .sqlite ? sqlite : postgres
}

/// The error `body` throws, or nil.
func caught(_ body: () throws -> Void) -> Error? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

/// A short name of the error case, for readable expectations.
func errorCase(_ error: Error?) -> String {
    guard let error else { return "no error" }
    guard let db = error as? DatabaseError else { return "non-database error: \(error)" }
    switch db {
    case .uniqueViolation: return "unique"
    case .foreignKeyViolation: return "foreignKey"
    case .checkViolation: return "check"
    case .unavailable: return "unavailable"
    case .timeout: return "timeout"
    case .query: return "query"
    case .decoding: return "decoding"
    case .migration: return "migration"
    }
}

/// Runs `body(i)` for i in 0..<count on `count` real threads at once (not the cooperative
/// pool, which has as many threads as cores), released together to maximise contention.
func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    let start = DispatchSemaphore(value: 0)
    for i in 0..<count {
        group.enter()
        let thread = Thread {
            start.wait()
            body(i)
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    for _ in 0..<count { start.signal() }
    group.wait()
}

/// A lock-protected value shared by test threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withValue<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
    var current: Value { withValue { $0 } }
}

/// `Database` is used from many threads; test closures capture it through this box.
struct SendableDatabase: @unchecked Sendable {
    let db: Database
}
