import Foundation
import Testing
@testable import Trainyard

@Suite struct Base64URLTests {
    /// Foundation's base64 with the alphabet swapped and the padding dropped, as the reference.
    func reference(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    @Test func everyLengthRoundTripsAndMatchesFoundation() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let encoded = Base64URL.encode(bytes)
            #expect(encoded == reference(bytes), "length \(length)")
            #expect(Base64URL.decode(encoded) == bytes, "length \(length)")
        }
        #expect(Base64URL.encode(Array(repeating: 0xFB, count: 3)) == "-_v7")
    }

    @Test func textThatIsNotUnpaddedBase64URLIsRefused() {
        for bad in ["abc=", "ab+c", "ab/c", "a", "abcde", "ab c", "é", "ab\u{0}c", "-_v7="] {
            #expect(Base64URL.decode(bad) == nil, "\(bad)")
        }
        #expect(Base64URL.decode("") == [])
    }
}

@Suite struct CookieHeaderTests {
    @Test func pairsAreSplitOnceTrimmedAndTheFirstOfANameWins() {
        let cookies = Cookies.parse(" ty_session=abc.def ;\tty_flash = x=y==; ty_session=second; lonely; empty=; =nameless")
        #expect(cookies["ty_session"] == "abc.def")
        #expect(cookies["ty_flash"] == "x=y==", "only the first = separates name and value")
        #expect(cookies["empty"] == "")
        #expect(cookies["lonely"] == nil)
        #expect(cookies[""] == "nameless")
        #expect(Cookies.parse(nil).isEmpty && Cookies.parse("").isEmpty)
        #expect(Cookies.parse("naïve=é")["naïve"] == "é")
    }
}
