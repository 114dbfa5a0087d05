import Foundation
import Testing
@testable import Trainyard

@Suite struct SessionCacheTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let user = User(id: 7, username: "ana", displayName: "Ana", role: .operator, disabled: false,
                    createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0))

    func session(seen: TimeInterval = 10, expiresIn: TimeInterval = 3600, disabled: Bool = false) -> StoredSession {
        var user = user
        user.disabled = disabled
        return StoredSession(user: user, lastSeen: now.addingTimeInterval(-seen), expires: now.addingTimeInterval(expiresIn))
    }

    @Test func aKeptSessionStandsOnlyUnderTheSameCountersAndWithinItsTimes() {
        let cache = SessionCache()
        let stamp = SessionCache.Stamp(sessions: 4, users: 9)
        cache.keep(session(), for: "secret", at: stamp)
        #expect(cache.user("secret", at: stamp, now: now, idle: 1800) == user)
        #expect(cache.user("other", at: stamp, now: now, idle: 1800) == nil)
        #expect(cache.user("secret", at: .init(sessions: 5, users: 9), now: now, idle: 1800) == nil, "a session was written")
        #expect(cache.user("secret", at: .init(sessions: 4, users: 10), now: now, idle: 1800) == nil, "a user was written")
        // Its idle clock is due a write a minute after it was last seen: looked up again.
        #expect(cache.user("secret", at: stamp, now: now.addingTimeInterval(AccountStore.lastSeenStep), idle: 1800) == nil)
        cache.forget("secret")
        #expect(cache.user("secret", at: stamp, now: now, idle: 1800) == nil)
    }

    @Test func expiredIdleAndDisabledSessionsAreNeverServed() {
        let cache = SessionCache()
        let stamp = SessionCache.Stamp(sessions: 1, users: 1)
        cache.keep(session(expiresIn: -1), for: "expired", at: stamp)
        cache.keep(session(seen: 30), for: "idle", at: stamp)
        cache.keep(session(disabled: true), for: "disabled", at: stamp)
        #expect(cache.user("expired", at: stamp, now: now, idle: 1800) == nil)
        #expect(cache.user("idle", at: stamp, now: now, idle: 20) == nil)
        #expect(cache.user("disabled", at: stamp, now: now, idle: 1800) == nil)
    }

    @Test func aFullCacheStartsOver() {
        let cache = SessionCache(limit: 3)
        let stamp = SessionCache.Stamp(sessions: 1, users: 1)
        for i in 0..<3 { cache.keep(session(), for: "s\(i)", at: stamp) }
        #expect(cache.count == 3)
        cache.keep(session(), for: "s0", at: stamp)
        #expect(cache.count == 3, "replacing one does not empty it")
        cache.keep(session(), for: "s3", at: stamp)
        #expect(cache.count == 1)
        #expect(cache.user("s3", at: stamp, now: now, idle: 1800) == user)
    }

    @Test func aReadingWithoutBothCountersGivesNoStamp() {
        #expect(SessionCache.Stamp(CounterReading(versions: ["sessions": 1])) == nil)
        #expect(SessionCache.Stamp(CounterReading(versions: ["sessions": 1, "users": 2, "*": 9])) == .init(sessions: 1, users: 2))
    }
}
