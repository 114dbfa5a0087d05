import Foundation

/// Answers of a pure function kept by their input, for inputs that repeat across requests.
/// Only answers that exist are kept, and past `limit` the memo starts over, so clients sending
/// ever-new inputs cannot grow it without bound.
final class BoundedMemo<Key: Hashable, Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [Key: Value] = [:]
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    /// The kept answer for `key`, or `compute`'s (kept when it is not nil).
    func value(for key: Key, else compute: () -> Value?) -> Value? {
        if let known = lock.withLock({ entries[key] }) { return known }
        guard let fresh = compute() else { return nil }
        lock.withLock {
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[key] = fresh
        }
        return fresh
    }

    var count: Int { lock.withLock { entries.count } }
}
