import Foundation

/// Session cookies whose signature has been checked, with what they stand for: the session
/// secret and its CSRF token. Both are pure functions of the cookie and the process's keys, so
/// a cookie seen again gives the same answer without two HMACs and a base64 pass (a twentieth of
/// a signed-in page's CPU). Only cookies that verified are kept, and past `limit` the memo starts
/// over, so a client minting cookies cannot grow it without bound.
final class VerifiedCookies: @unchecked Sendable {
    struct Verified: Sendable {
        let session: String
        let csrfToken: String
    }

    private let lock = NSLock()
    private var entries: [String: Verified] = [:]
    private let limit: Int

    init(limit: Int = 10_000) { self.limit = limit }

    /// The memo's answer for `cookie`, or `verify`'s (kept when it is not nil).
    func verified(_ cookie: String, else verify: () -> Verified?) -> Verified? {
        if let known = lock.withLock({ entries[cookie] }) { return known }
        guard let fresh = verify() else { return nil }
        lock.withLock {
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[cookie] = fresh
        }
        return fresh
    }

    var count: Int { lock.withLock { entries.count } }
}
