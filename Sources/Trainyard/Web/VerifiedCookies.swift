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

    private let memo: BoundedMemo<String, Verified>

    init(limit: Int = 10_000) { memo = BoundedMemo(limit: limit) }

    /// The memo's answer for `cookie`, or `verify`'s (kept when it is not nil).
    func verified(_ cookie: String, else verify: () -> Verified?) -> Verified? {
        memo.value(for: cookie, else: verify)
    }

    var count: Int { memo.count }
}
