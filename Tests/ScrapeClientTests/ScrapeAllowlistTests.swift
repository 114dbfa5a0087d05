import XCTest
@testable import ScrapeClient

final class ScrapeAllowlistTests: XCTestCase {
    private func ip(_ text: String) -> IPAddress {
        guard let address = IPAddress(text) else {
            XCTFail("\(text) should parse")
            return .v4(0)
        }
        return address
    }

    func testParsesEveryKindOfEntryAndPrintsItBackAsTyped() throws {
        let list = try ScrapeAllowlist(parsing: "10.0.0.0/8, fd00::/8 192.0.2.7\n::1,models.internal  Models.Example. loopback")
        XCTAssertEqual(
            list.description,
            "10.0.0.0/8, fd00::/8, 192.0.2.7/32, ::1/128, models.internal, models.example, 127.0.0.0/8"
        )
        XCTAssertEqual(try ScrapeAllowlist(parsing: list.description), list)
    }

    func testLoopbackKeywordAndDefault() throws {
        XCTAssertEqual(ScrapeAllowlist.loopbackOnly.description, "127.0.0.0/8, ::1/128")
        XCTAssertEqual(try ScrapeAllowlist(parsing: "LOOPBACK"), .loopbackOnly)
        let list = ScrapeAllowlist.loopbackOnly
        XCTAssertTrue(list.allows(address: ip("127.0.0.1"), forHost: "localhost"))
        XCTAssertTrue(list.allows(address: ip("127.255.255.255"), forHost: "x"))
        XCTAssertTrue(list.allows(address: ip("::1"), forHost: "x"))
        XCTAssertFalse(list.allows(address: ip("128.0.0.0"), forHost: "x"))
        XCTAssertFalse(list.allows(address: ip("126.255.255.255"), forHost: "x"))
        XCTAssertFalse(list.allows(address: ip("::2"), forHost: "x"))
        XCTAssertFalse(list.allows(address: ip("0.0.0.0"), forHost: "x"), "0.0.0.0 reaches this host but is not listed")
        XCTAssertFalse(list.allows(address: ip("192.0.2.2"), forHost: "x"))
    }

    func testIPv4MappedIPv6IsCheckedAsIPv4() throws {
        XCTAssertTrue(ScrapeAllowlist.loopbackOnly.allows(address: ip("::ffff:127.0.0.1"), forHost: "x"))
        let tenNet = try ScrapeAllowlist(parsing: "10.0.0.0/8")
        XCTAssertTrue(tenNet.allows(address: ip("::ffff:10.9.8.7"), forHost: "x"))
        XCTAssertFalse(tenNet.allows(address: ip("::ffff:127.0.0.1"), forHost: "x"))
        // A mapped entry is an IPv4 entry.
        let mapped = try ScrapeAllowlist(parsing: "::ffff:10.0.0.0/104, ::ffff:192.0.2.9")
        XCTAssertEqual(mapped.description, "10.0.0.0/8, 192.0.2.9/32")
        XCTAssertTrue(mapped.allows(address: ip("10.1.1.1"), forHost: "x"))
        // ::/0 is every IPv6 address, but mapped ones are judged as IPv4.
        let allV6 = try ScrapeAllowlist(parsing: "::/0")
        XCTAssertTrue(allV6.allows(address: ip("2001:db8::1"), forHost: "x"))
        XCTAssertFalse(allV6.allows(address: ip("::ffff:127.0.0.1"), forHost: "x"))
    }

    func testPrefixBoundaries() throws {
        let v4 = try ScrapeAllowlist(parsing: "10.0.0.0/8, 192.168.4.0/22, 198.51.100.77")
        XCTAssertTrue(v4.allows(address: ip("10.0.0.0"), forHost: "x"))
        XCTAssertTrue(v4.allows(address: ip("10.255.255.255"), forHost: "x"))
        XCTAssertFalse(v4.allows(address: ip("11.0.0.0"), forHost: "x"))
        XCTAssertFalse(v4.allows(address: ip("9.255.255.255"), forHost: "x"))
        XCTAssertTrue(v4.allows(address: ip("192.168.7.255"), forHost: "x"))
        XCTAssertFalse(v4.allows(address: ip("192.168.8.0"), forHost: "x"))
        XCTAssertFalse(v4.allows(address: ip("192.168.3.255"), forHost: "x"))
        XCTAssertTrue(v4.allows(address: ip("198.51.100.77"), forHost: "x"))
        XCTAssertFalse(v4.allows(address: ip("198.51.100.78"), forHost: "x"))
        XCTAssertFalse(v4.allows(address: ip("::ffff:11.0.0.0"), forHost: "x"))

        let v6 = try ScrapeAllowlist(parsing: "fd00::/8, 2001:db8:abc0::/44")
        XCTAssertTrue(v6.allows(address: ip("fd00::1"), forHost: "x"))
        XCTAssertTrue(v6.allows(address: ip("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), forHost: "x"))
        XCTAssertFalse(v6.allows(address: ip("fe00::"), forHost: "x"))
        XCTAssertFalse(v6.allows(address: ip("fc00::1"), forHost: "x"))
        XCTAssertTrue(v6.allows(address: ip("2001:db8:abcf:ffff::1"), forHost: "x"))
        XCTAssertFalse(v6.allows(address: ip("2001:db8:abd0::"), forHost: "x"))
        XCTAssertFalse(v6.allows(address: ip("10.0.0.1"), forHost: "x"), "an IPv6 network holds no IPv4 address")

        let everything = try ScrapeAllowlist(parsing: "0.0.0.0/0")
        XCTAssertTrue(everything.allows(address: ip("203.0.113.1"), forHost: "x"))
        XCTAssertFalse(everything.allows(address: ip("fd00::1"), forHost: "x"))
    }

    func testHostNameEntriesMatchTheURLHostCaseInsensitively() throws {
        let list = try ScrapeAllowlist(parsing: "models.internal, 10.0.0.0/8")
        XCTAssertTrue(list.allows(address: ip("203.0.113.9"), forHost: "models.internal"))
        XCTAssertTrue(list.allows(address: ip("127.0.0.1"), forHost: "Models.INTERNAL."))
        XCTAssertFalse(list.allows(address: ip("203.0.113.9"), forHost: "other.internal"))
        XCTAssertFalse(list.allows(address: ip("203.0.113.9"), forHost: "evil.models.internal"))
        XCTAssertFalse(list.allows(address: ip("203.0.113.9"), forHost: "models.internal.evil.com"))
        XCTAssertTrue(list.allows(address: ip("10.1.2.3"), forHost: "anything"))
    }

    func testErrorsNameTheBadEntry() {
        let cases: [(String, String, String)] = [
            ("10.0.0.0/8, 10.0.0.0/33", "10.0.0.0/33", "10.0.0.0/33 is not a host, address or CIDR"),
            ("fd00::/129", "fd00::/129", "fd00::/129 is not a host, address or CIDR"),
            ("10.0.0.0/", "10.0.0.0/", "10.0.0.0/ is not a host, address or CIDR"),
            ("/8", "/8", "/8 is not a host, address or CIDR"),
            ("10.0.0.0/+8", "10.0.0.0/+8", "10.0.0.0/+8 is not a host, address or CIDR"),
            ("models.internal/8", "models.internal/8", "models.internal/8 is not a host, address or CIDR"),
            ("*.internal", "*.internal", "*.internal is not a host, address or CIDR"),
            ("http://models.internal", "http://models.internal", "http://models.internal is not a host, address or CIDR"),
            ("10.0.0", "10.0.0", "10.0.0 is not a host, address or CIDR"),
            ("256.1.1.1", "256.1.1.1", "256.1.1.1 is not a host, address or CIDR"),
            ("127.1", "127.1", "127.1 is not a host, address or CIDR"),
            ("-bad.internal", "-bad.internal", "-bad.internal is not a host, address or CIDR"),
            ("10.1.2.3/8", "10.1.2.3/8", "10.1.2.3/8 has bits set past its /8 prefix (the network is 10.0.0.0/8)"),
            ("fd00::1/8", "fd00::1/8", "fd00::1/8 has bits set past its /8 prefix (the network is fd00::/8)"),
            (" , ", "", "the scrape allowlist is empty; use loopback for this machine only"),
        ]
        for (text, entry, message) in cases {
            XCTAssertThrowsError(try ScrapeAllowlist(parsing: text), text) { error in
                guard let error = error as? AllowlistError else { return XCTFail("\(text): \(error)") }
                XCTAssertEqual(error.entry, entry, text)
                XCTAssertEqual(error.description, message, text)
            }
        }
    }

    func testIPAddressTextForms() {
        XCTAssertEqual(IPAddress("10.0.0.1"), .v4(0x0A00_0001))
        XCTAssertEqual(IPAddress("::1"), .v6([UInt8](repeating: 0, count: 15) + [1]))
        XCTAssertEqual(IPAddress("FD00:0:0::2")?.description, "fd00::2")
        XCTAssertEqual(IPAddress("::ffff:127.0.0.1")?.description, "::ffff:127.0.0.1")
        XCTAssertEqual(IPAddress("192.0.2.255")?.description, "192.0.2.255")
        for bad in ["127.1", "010.0.0.1", "1.2.3.4.5", "[::1]", "::1%lo", "localhost", "", "1.2.3.4:80", ":::"] {
            XCTAssertNil(IPAddress(bad), bad)
        }
    }
}
