import Foundation

/// A session as stored: its user and the two times that decide whether it still stands.
struct StoredSession: Equatable, Sendable {
    var user: User
    var lastSeen: Date
    var expires: Date

    /// Not expired, not idle longer than `idle`, its user not disabled.
    func stands(now: Date, idle: TimeInterval) -> Bool {
        !user.disabled && expires > now && now.timeIntervalSince(lastSeen) < idle
    }
}

/// Browser sessions found standing, each kept with the `sessions` and `users` change counters
/// read before it was looked up. While both counters still read the same, no session and no
/// user has been written since (a sign-out, a revoked session, a disabled account or a new
/// role all move one, in every `serve` process on the database), so the kept session is what
/// a lookup would return. Expiry and the idle timeout are checked against the clock on every
/// use, and a session whose idle clock is due its once-a-minute write is looked up again.
final class SessionCache: @unchecked Sendable {
    struct Stamp: Equatable, Sendable {
        let sessions: Int64
        let users: Int64

        init(sessions: Int64, users: Int64) {
            self.sessions = sessions
            self.users = users
        }

        /// Nil unless both counters were read.
        init?(_ reading: CounterReading) {
            guard let sessions = reading.versions[ChangeCounters.Table.sessions.rawValue],
                  let users = reading.versions[ChangeCounters.Table.users.rawValue] else { return nil }
            self.init(sessions: sessions, users: users)
        }
    }

    private struct Entry {
        let session: StoredSession
        let stamp: Stamp
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    /// Past this many sessions the cache starts over rather than track which is oldest.
    private let limit: Int

    init(limit: Int = 10_000) { self.limit = limit }

    /// The user of session `secret` if it was kept under `stamp` and still stands at `now`
    /// with no idle-clock write due; nil means "look it up".
    func user(_ secret: String, at stamp: Stamp, now: Date, idle: TimeInterval) -> User? {
        guard let entry = lock.withLock({ entries[secret] }), entry.stamp == stamp else { return nil }
        let session = entry.session
        guard session.stands(now: now, idle: idle), now.timeIntervalSince(session.lastSeen) < AccountStore.lastSeenStep else { return nil }
        return session.user
    }

    /// Keeps `session`, found standing by a lookup made after `stamp` was read.
    func keep(_ session: StoredSession, for secret: String, at stamp: Stamp) {
        lock.withLock {
            if entries.count >= limit, entries[secret] == nil { entries.removeAll(keepingCapacity: true) }
            entries[secret] = Entry(session: session, stamp: stamp)
        }
    }

    func forget(_ secret: String) {
        _ = lock.withLock { entries.removeValue(forKey: secret) }
    }

    var count: Int { lock.withLock { entries.count } }
}
