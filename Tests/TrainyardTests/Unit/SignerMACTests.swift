import Foundation
import Synchronization
import Testing
@testable import Trainyard

/// The signer keys HMAC once and copies that state for every MAC; these pin its output to the
/// standard and show copies made on many threads at once do not disturb each other.
@Suite struct SignerMACTests {
    @Test func macIsHMACSHA256AsRFC4231Gives() {
        // RFC 4231, test case 2.
        let signer = Signer(secret: Array("Jefe".utf8))
        #expect(signer.mac("what do ya want for nothing?") == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // The same signer again: the keyed state it starts from is unchanged by the first MAC.
        #expect(signer.mac("what do ya want for nothing?") == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func oneSignerSharedByManyThreadsGivesEachTheRightMAC() {
        let signer = Signer(secret: Array("shared".utf8))
        let messages = (0..<64).map { "message \($0)" }
        let expected = messages.map { Signer(secret: Array("shared".utf8)).mac($0) }
        let results = Mutex([String?](repeating: nil, count: messages.count))
        DispatchQueue.concurrentPerform(iterations: messages.count * 20) { i in
            let index = i % messages.count
            let mac = signer.mac(messages[index])
            results.withLock { results in
                if results[index] == nil || results[index] == mac { results[index] = mac } else { results[index] = "mismatch" }
            }
        }
        #expect(results.withLock { $0 } == expected.map(Optional.some))
    }
}
