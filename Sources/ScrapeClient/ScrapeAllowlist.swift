/// Hosts and networks scrape targets may be at.
///
/// A scrape URL is typed in by an operator and then fetched by the server,
/// so without a limit it is a way to make the server reach anything it can
/// reach (SSRF). The allowlist is that limit; it is checked against the
/// address each connection actually goes to, after DNS.
///
/// Entries, comma- or whitespace-separated:
/// - an IPv4 or IPv6 address (`10.1.2.3`, `fd00::5`), meaning that one address;
/// - a CIDR network (`10.0.0.0/8`, `fd00::/8`); bits past the prefix must be
///   zero, so a typo like `10.1.2.3/8` is caught instead of quietly widening;
/// - a host name (`models.internal`), matched case-insensitively (and
///   ignoring one trailing dot) against the URL's host. For such a URL every
///   address the name resolves to is allowed: the operator is trusting that
///   name's DNS, so list networks instead where DNS is not trusted;
/// - the keyword `loopback`: 127.0.0.0/8 and ::1.
///
/// The default (no flag) is loopback only. IPv4-mapped IPv6 addresses
/// (`::ffff:a.b.c.d`) are checked as their IPv4 address, since that is where
/// a dual-stack socket takes them. Note that `0.0.0.0` and `::` reach this
/// machine too; they are refused unless an entry covers them.
public struct ScrapeAllowlist: Sendable, Equatable, CustomStringConvertible {
    struct Network: Hashable, Sendable {
        var address: IPAddress
        var prefix: Int

        func contains(_ candidate: IPAddress) -> Bool {
            switch (address, candidate) {
            case (.v4(let network), .v4(let value)):
                return (network ^ value) & Network.mask32(prefix) == 0
            case (.v6(let network), .v6(let value)):
                guard network.count == 16, value.count == 16 else { return false }
                return Network.prefixMatches(network, value, bits: prefix)
            default:
                return false
            }
        }

        /// `address` with every bit past `prefix` cleared.
        static func masked(_ address: IPAddress, prefix: Int) -> IPAddress {
            switch address {
            case .v4(let value):
                return .v4(value & mask32(prefix))
            case .v6(let bytes):
                return .v6(bytes.enumerated().map { index, byte in
                    let keep = min(max(prefix - index * 8, 0), 8)
                    return keep == 0 ? 0 : byte & UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
                })
            }
        }

        static func mask32(_ prefix: Int) -> UInt32 {
            prefix <= 0 ? 0 : UInt32.max << UInt32(32 - min(prefix, 32))
        }

        static func prefixMatches(_ a: [UInt8], _ b: [UInt8], bits: Int) -> Bool {
            var remaining = bits
            for index in 0..<16 where remaining > 0 {
                let keep = min(remaining, 8)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
                if (a[index] ^ b[index]) & mask != 0 { return false }
                remaining -= keep
            }
            return true
        }
    }

    enum Entry: Hashable, Sendable {
        case network(Network)
        case host(String)
    }

    let entries: [Entry]

    init(entries: [Entry]) {
        var seen = Set<Entry>()
        self.entries = entries.filter { seen.insert($0).inserted }
    }

    /// 127.0.0.0/8 and ::1: what a fresh install may scrape, so a model
    /// server on the same machine works and nothing else does until the
    /// operator says so.
    public static let loopbackOnly = ScrapeAllowlist(entries: loopbackEntries)

    static let loopbackEntries: [Entry] = [
        .network(Network(address: .v4(0x7F00_0000), prefix: 8)),
        .network(Network(address: .v6([UInt8](repeating: 0, count: 15) + [1]), prefix: 128)),
    ]

    /// Parses the operator's text (a flag or setting). Throws
    /// `AllowlistError` naming the first entry that is not a host, address
    /// or CIDR, and for an empty list, which would refuse every target.
    public init(parsing text: String) throws {
        let tokens = text.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
        guard !tokens.isEmpty else {
            throw AllowlistError(
                entry: "",
                description: "the scrape allowlist is empty; use loopback for this machine only"
            )
        }
        var entries: [Entry] = []
        for token in tokens {
            entries += try Self.parseEntry(token)
        }
        self.init(entries: entries)
    }

    private static func parseEntry(_ token: String) throws -> [Entry] {
        let notUnderstood = AllowlistError(entry: token, description: "\(token) is not a host, address or CIDR")
        if token.lowercased() == "loopback" {
            return loopbackEntries
        }
        if let slash = token.firstIndex(of: "/") {
            let addressText = String(token[..<slash])
            let prefixText = token[token.index(after: slash)...]
            guard let address = IPAddress(addressText),
                  !prefixText.isEmpty, prefixText.count <= 3,
                  prefixText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let prefix = Int(prefixText), prefix <= address.bitWidth
            else { throw notUnderstood }
            let network = Network.masked(address, prefix: prefix)
            guard network == address else {
                throw AllowlistError(
                    entry: token,
                    description: "\(token) has bits set past its /\(prefix) prefix (the network is \(network)/\(prefix))"
                )
            }
            return [.network(normalised(Network(address: address, prefix: prefix)))]
        }
        if let address = IPAddress(token) {
            return [.network(normalised(Network(address: address, prefix: address.bitWidth)))]
        }
        if let host = normalisedHostName(token) {
            return [.host(host)]
        }
        throw notUnderstood
    }

    /// `::ffff:a.b.c.d/N` (N ≥ 96) is the IPv4 network `a.b.c.d/(N-96)`:
    /// mapped addresses are checked as IPv4, so the entry must be too.
    private static func normalised(_ network: Network) -> Network {
        guard network.prefix >= 96, case .v4(let value) = network.address.unmapped,
              network.address.unmapped != network.address
        else { return network }
        return Network(address: .v4(value), prefix: network.prefix - 96)
    }

    /// Lowercased, without one trailing dot, if `text` is a plausible DNS
    /// name; nil otherwise. A name whose last label is numeric (`10.0.0`,
    /// `0x7f`) is refused: URL parsers read such hosts as IPv4 addresses, so
    /// the entry would not mean what it says.
    static func normalisedHostName(_ text: String) -> String? {
        var name = text.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        guard !name.isEmpty, name.utf8.count <= 253 else { return nil }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            guard (1...63).contains(label.utf8.count),
                  label.utf8.allSatisfy({ byte in
                      (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x5F
                  }),
                  label.first != "-", label.last != "-"
            else { return nil }
        }
        let last = labels[labels.count - 1]
        if last.allSatisfy({ $0.isASCII && $0.isNumber }) { return nil }
        if last.hasPrefix("0x"), last.dropFirst(2).allSatisfy({ $0.isHexDigit }) { return nil }
        return name
    }

    /// True when `address` is inside a CIDR or address entry, or `host`
    /// (compared lowercased, without a trailing dot) equals a host-name
    /// entry. `host` is the URL's host, `address` where the connection goes.
    public func allows(address: IPAddress, forHost host: String) -> Bool {
        let address = address.unmapped
        var hostName = host.lowercased()
        if hostName.hasSuffix(".") { hostName.removeLast() }
        for entry in entries {
            switch entry {
            case .network(let network):
                if network.contains(address) { return true }
            case .host(let name):
                if name == hostName { return true }
            }
        }
        return false
    }

    /// The list as an operator would type it back, with single addresses
    /// shown as /32 or /128: "127.0.0.0/8, ::1/128, models.internal".
    /// Parsing it gives an equal allowlist.
    public var description: String {
        entries.map { entry in
            switch entry {
            case .network(let network): return "\(network.address)/\(network.prefix)"
            case .host(let name): return name
            }
        }.joined(separator: ", ")
    }
}

/// Why an allowlist entry was not understood; shown to the operator at
/// startup or next to the setting, naming the entry.
public struct AllowlistError: Error, Equatable, CustomStringConvertible {
    /// The entry as typed ("" when the whole list is empty).
    public var entry: String
    /// One line, e.g. "10.0.0.0/33 is not a host, address or CIDR".
    public var description: String
}
