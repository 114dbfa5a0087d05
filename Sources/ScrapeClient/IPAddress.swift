#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address, the unit the scrape allowlist is checked in.
///
/// `.v4` holds the address as a host-order integer (`10.0.0.1` is
/// `0x0A00_0001`); `.v6` holds its 16 bytes in network order. A `.v6`
/// value of any other length matches nothing.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6([UInt8])

    /// Parses the textual forms `inet_pton` accepts: dotted-quad IPv4
    /// (`127.0.0.1`, no leading zeros, no shorthand like `127.1`) and IPv6
    /// (`::1`, `fd00::2`, `::ffff:10.0.0.1`). No brackets, ports or zone ids:
    /// anything looser would let a value mean something the operator did
    /// not read it as.
    public init?(_ text: String) {
        if text.contains(":") {
            var bytes = [UInt8](repeating: 0, count: 16)
            let parsed = bytes.withUnsafeMutableBytes { buffer in
                inet_pton(AF_INET6, text, buffer.baseAddress)
            }
            guard parsed == 1 else { return nil }
            self = .v6(bytes)
        } else {
            var address = in_addr()
            guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
            self = .v4(UInt32(bigEndian: address.s_addr))
        }
    }

    /// Builds an address from raw network-order bytes (4 or 16 of them).
    init?(networkBytes bytes: [UInt8]) {
        switch bytes.count {
        case 4:
            self = .v4(bytes.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            self = .v6(bytes)
        default:
            return nil
        }
    }

    /// The conventional text form: dotted quad, or compressed IPv6.
    public var description: String {
        switch self {
        case .v4(let value):
            return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
        case .v6(let bytes):
            guard bytes.count == 16 else { return "<invalid IPv6 address>" }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            let ok = bytes.withUnsafeBytes { raw in
                inet_ntop(AF_INET6, raw.baseAddress, &text, socklen_t(text.count)) != nil
            }
            guard ok else { return "<invalid IPv6 address>" }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) reaches the IPv4 host
    /// `a.b.c.d` through a dual-stack socket, so it is judged as that IPv4
    /// address; every other address is returned unchanged.
    var unmapped: IPAddress {
        guard case .v6(let bytes) = self, bytes.count == 16,
              bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF
        else { return self }
        return .v4(bytes[12...].reduce(0) { $0 << 8 | UInt32($1) })
    }

    /// Number of bits in this family's addresses.
    var bitWidth: Int {
        switch self {
        case .v4: return 32
        case .v6: return 128
        }
    }
}
