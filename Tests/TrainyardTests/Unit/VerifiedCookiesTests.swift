import Foundation
import Testing
@testable import Trainyard

@Suite struct VerifiedCookiesTests {
    let signer = Signer(secret: Array("a test secret of some length".utf8))

    /// What `WebLayer` does for a cookie the memo has not seen: check its signature.
    func check(_ cookie: String, calls: inout Int) -> VerifiedCookies.Verified? {
        calls += 1
        guard let payload = signer.verify(cookie) else { return nil }
        return VerifiedCookies.Verified(session: Base64URL.encode(payload), csrfToken: signer.mac("csrf"))
    }

    @Test func aCookieThatVerifiedIsAnsweredFromTheMemoAndATamperedOneIsCheckedEveryTime() {
        let memo = VerifiedCookies()
        let good = signer.sign(Array(repeating: 7, count: 32))
        var calls = 0
        #expect(memo.verified(good, else: { check(good, calls: &calls) })?.session == Base64URL.encode(Array(repeating: 7, count: 32)))
        #expect(memo.verified(good, else: { check(good, calls: &calls) }) != nil)
        #expect(calls == 1, "the second sight of a good cookie needs no HMAC")

        // The same payload with the signature's last character changed.
        var tampered = good
        let last = tampered.removeLast()
        tampered.append(last == "A" ? "B" : "A")
        #expect(memo.verified(tampered, else: { check(tampered, calls: &calls) }) == nil)
        #expect(memo.verified(tampered, else: { check(tampered, calls: &calls) }) == nil)
        #expect(calls == 3, "a cookie that failed is never kept")
        #expect(memo.count == 1)
    }

    @Test func pastItsLimitTheMemoStartsOver() {
        let memo = VerifiedCookies(limit: 3)
        var calls = 0
        for byte in UInt8(0)..<5 {
            let cookie = signer.sign([byte])
            _ = memo.verified(cookie, else: { check(cookie, calls: &calls) })
        }
        #expect(memo.count <= 3)
        #expect(calls == 5)
    }
}
