import Foundation
import Testing
import TrainyardTestSupport
@testable import HTTPServer
@testable import Trainyard

/// Form bodies that cannot mean one thing are refused whole, before any handler: a field sent
/// twice, bytes that are not UTF-8. Numbers are decimal numbers; redirects stay ASCII.
@Suite struct FormIntegrityTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func repeatedFieldsAndInvalidUTF8_Are400AndChangeNothing(_ kind: TestDatabaseKind) throws {
        let app = try RunningApp(kind)
        defer { app.stop() }
        let browser = try app.browser()
        try browser.get("/settings/tokens")
        let token = try #require(browser.csrfToken())
        func tokens() throws -> Int { try Fixtures.count(app.database, "api_tokens") }
        let before = try tokens()

        let cases = [
            "name=first&name=second&expires_in_days=30&_csrf=\(token)",
            // A forged token beside the real one must not pass because the real one came first.
            "name=nightly&expires_in_days=30&_csrf=\(token)&_csrf=forged",
            "name=bad%FF%FEbytes&expires_in_days=30&_csrf=\(token)",
            "name=lone%ED%A0%80surrogate&expires_in_days=30&_csrf=\(token)",
        ]
        for body in cases {
            let response = try browser.postRaw("/settings/tokens", body: body)
            #expect(response.status == 400, "\(body)")
            #expect(response.body.contains("Nothing was changed."), "\(body)")
            #expect(try tokens() == before, "\(body)")
        }
        #expect(try browser.postRaw("/settings/tokens", body: "name=twice&name=twice&expires_in_days=30&_csrf=\(token)").body
            .contains("the field “name” more than once"))
        // The same form, well formed, works.
        #expect(try browser.postRaw("/settings/tokens", body: "name=nightly&expires_in_days=30&_csrf=\(token)").status == 303)
        #expect(try tokens() == before + 1)
    }

    @Test func queryParameters_ReportInvalidUTF8AndRepeats() {
        #expect(QueryParameters(parsing: "a=%C3%BCber&b=x").hasInvalidUTF8 == false)
        #expect(QueryParameters(parsing: "a=%FF").hasInvalidUTF8)
        #expect(QueryParameters(parsing: "a%C0%AF=1").hasInvalidUTF8)
        #expect(QueryParameters(parsing: "a=1&b=2&a=3").firstRepeatedName == "a")
        #expect(QueryParameters(parsing: "a=1&b=2").firstRepeatedName == nil)
    }

    @Test func decimals_AreDecimalNotationOnly() {
        for good in ["12", "-0.5", "+3", ".5", "5.", "3e-4", "1E6", "0.000001"] { #expect(DecimalRule.isDecimal(good), "\(good)") }
        for bad in ["0x10", "inf", "nan", "1e", "e5", ".", "-", "1\u{0}z", "1 2", "1.2.3", "١٢", "1e+", ""] {
            #expect(!DecimalRule.isDecimal(bad), "\(bad)")
        }
    }

    @Test func redirects_PercentEncodeNonASCII() {
        #expect(SafeRedirect.path("/deployments?q=über", fallback: "/") == "/deployments?q=%C3%BCber")
        #expect(SafeRedirect.path("/deployments?q=plain", fallback: "/") == "/deployments?q=plain")
        #expect(SafeRedirect.path("//evil.example", fallback: "/") == "/")
    }

    @Test func clipping_CountsScalarsNotCharacters() {
        let combining = "a" + String(repeating: "\u{0301}", count: 10_000)
        #expect(combining.count == 1)
        #expect(combining.prefix(scalars: 40).unicodeScalars.count == 40)
        #expect(TableQuery(QueryParameters([("q", combining)]), statuses: [], sortKeys: ["id": .asc], defaultSort: "id").q.unicodeScalars.count == 100)
    }

    @Test func oversizedFlash_KeepsItsMessageWithinACookie() throws {
        let signer = Signer(secret: Array("a-secret-that-is-long-enough-for-tests".utf8))
        let quoted = String(repeating: "x", count: 100_000)
        let flash = Flash(.error, "The version \(quoted) is unknown.", values: ["version": quoted],
                          fieldErrors: ["version": "No version \(quoted).", "other": quoted])
        let cookie = flash.encoded(with: signer)
        #expect(cookie.utf8.count <= Flash.maxCookieBytes)
        let back = try #require(Flash.decode(cookie, with: signer))
        #expect(back.kind == .error)
        #expect(back.message.hasPrefix("The version xxx"))
    }
}
