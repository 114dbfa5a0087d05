import CCurl
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a URL is not accepted before anything is fetched — shown on the form
/// next to the field, so each message says what to change.
public struct TargetRefusal: Error, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Checks a scrape URL when the operator saves it, so mistakes and
/// forbidden targets show up on the form instead of as a failing scrape.
/// The authoritative check is still the one `ScrapeClient` makes on every
/// connection; this one is for feedback.
public struct TargetCheck {
    /// The longest URL accepted; longer ones are almost certainly pasted
    /// by mistake, and they end up in logs and on pages.
    public static let maxLength = 2048

    /// Syntax only, no DNS: scheme http or https, a host, no
    /// `user:password@`, at most 2048 characters, port 1–65535. The URL is
    /// parsed by libcurl's own parser, the one the fetch uses, so the host
    /// checked here is the host connected to. Returns the normalised URL
    /// (scheme and host lowercased, fragment dropped) or a message.
    public static func validate(_ text: String) -> Result<URL, TargetRefusal> {
        switch ParsedTarget.parse(text) {
        case .success(let target):
            guard let url = URL(string: target.normalised) else {
                return .failure(TargetRefusal("This is not a valid URL."))
            }
            return .success(url)
        case .failure(let refusal):
            return .failure(refusal)
        }
    }

    /// `validate`, then resolves the host (getaddrinfo) and requires every
    /// address it resolves to to be allowed, since a fetch may connect to
    /// any of them. A name that does not resolve is refused: it cannot be
    /// checked. `resolveOverrides` (a test hook: host → addresses) replaces
    /// DNS for the hosts listed.
    public static func check(
        _ text: String,
        allowlist: ScrapeAllowlist,
        resolveOverrides: [String: [String]] = [:]
    ) -> Result<URL, TargetRefusal> {
        let target: ParsedTarget
        switch ParsedTarget.parse(text) {
        case .success(let parsed): target = parsed
        case .failure(let refusal): return .failure(refusal)
        }
        guard let url = URL(string: target.normalised) else {
            return .failure(TargetRefusal("This is not a valid URL."))
        }

        if let literal = target.literalAddress {
            guard allowlist.allows(address: literal, forHost: target.matchHost) else {
                return .failure(TargetRefusal(
                    "\(literal) is outside the scrape allowlist (\(allowlist))"
                ))
            }
            return .success(url)
        }

        let addresses: [IPAddress]
        if let overridden = overrides(resolveOverrides, for: target.matchHost) {
            addresses = overridden
        } else {
            addresses = resolve(target.resolveHost)
        }
        guard !addresses.isEmpty else {
            return .failure(TargetRefusal("\(target.matchHost) does not resolve"))
        }
        for address in addresses where !allowlist.allows(address: address, forHost: target.matchHost) {
            return .failure(TargetRefusal(
                "\(target.matchHost) resolves to \(address), which is outside the scrape allowlist (\(allowlist))"
            ))
        }
        return .success(url)
    }

    /// The override addresses for `host`, if the hook lists it (keys are
    /// compared like hosts: lowercased, without a trailing dot).
    static func overrides(_ table: [String: [String]], for host: String) -> [IPAddress]? {
        for (key, values) in table where ParsedTarget.hostKey(key) == host {
            return values.compactMap { IPAddress($0.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) }
        }
        return nil
    }

    /// Every address getaddrinfo gives for `host`, in its order, without
    /// repeats; empty when the name does not resolve.
    static func resolve(_ host: String) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0 else { return [] }
        defer { freeaddrinfo(list) }
        var result: [IPAddress] = []
        var node = list
        while let current = node {
            if let raw = current.pointee.ai_addr {
                var address: IPAddress?
                switch current.pointee.ai_family {
                case AF_INET:
                    address = raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                        .v4(UInt32(bigEndian: $0.pointee.sin_addr.s_addr))
                    }
                case AF_INET6:
                    address = raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        var storage = pointer.pointee.sin6_addr
                        return withUnsafeBytes(of: &storage) { .v6(Array($0)) }
                    }
                default:
                    address = nil
                }
                if let address, !result.contains(address) { result.append(address) }
            }
            node = current.pointee.ai_next
        }
        return result
    }
}

/// A URL as libcurl parsed it. Owning the CURLU handle lets the fetch hand
/// this very parse to libcurl (CURLOPT_CURLU): no second parser can
/// disagree about which host the allowlist was checked for.
final class ParsedTarget {
    let handle: OpaquePointer
    /// "http" or "https".
    let scheme: String
    /// The host as libcurl resolves it: lowercased, IDN names in punycode,
    /// IPv6 literals in brackets.
    let resolveHost: String
    /// `resolveHost` without brackets or a trailing dot: what allowlist
    /// host entries and resolve overrides are compared with.
    let matchHost: String
    /// The host, when it is an IP address rather than a name.
    let literalAddress: IPAddress?
    /// The port connected to (the scheme's default when none is given).
    let port: Int
    /// The URL as libcurl will request it.
    let normalised: String

    private init(handle: OpaquePointer, scheme: String, resolveHost: String, port: Int, normalised: String) {
        self.handle = handle
        self.scheme = scheme
        self.resolveHost = resolveHost
        var bare = resolveHost
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = String(bare.dropFirst().dropLast()) }
        self.literalAddress = IPAddress(bare)
        self.matchHost = ParsedTarget.hostKey(bare)
        self.port = port
        self.normalised = normalised
    }

    deinit {
        curl_url_cleanup(handle)
    }

    static func hostKey(_ host: String) -> String {
        var key = host.lowercased()
        if key.hasSuffix(".") { key.removeLast() }
        return key
    }

    static let onlyHTTP = "Only http and https URLs can be scraped."

    static func parse(_ input: String) -> Result<ParsedTarget, TargetRefusal> {
        let text = input.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else {
            return .failure(TargetRefusal("Enter the URL of the target's /metrics page."))
        }
        guard text.unicodeScalars.count <= TargetCheck.maxLength else {
            return .failure(TargetRefusal("The URL is longer than \(TargetCheck.maxLength) characters."))
        }
        // Decide the scheme ourselves first: libcurl would also refuse
        // file:, gopher: and the rest, but with a message about its build.
        guard let separator = text.range(of: "://"),
              let first = text.first, first.isASCII, first.isLetter,
              text[..<separator.lowerBound].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
        else {
            if let colon = text.firstIndex(of: ":"),
               ["file", "gopher", "ftp", "ftps", "dict", "ldap", "telnet", "tftp", "smb", "scp", "sftp", "data", "javascript"]
                   .contains(text[..<colon].lowercased()) {
                return .failure(TargetRefusal(onlyHTTP))
            }
            return .failure(TargetRefusal("The URL must start with http:// or https://."))
        }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            return .failure(TargetRefusal(onlyHTTP))
        }
        // libcurl reads "http:///metrics" as host "metrics"; an operator
        // who typed that forgot the host.
        let authority = text[separator.upperBound...]
        guard let authorityStart = authority.first, authorityStart != "/", authorityStart != "\\" else {
            return .failure(TargetRefusal("The URL has no host."))
        }

        // curl reads the URL as a C string: a NUL would cut it short unseen.
        if text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            return .failure(TargetRefusal("The URL may not hold control characters."))
        }
        guard let handle = curl_url() else {
            return .failure(TargetRefusal("The URL could not be checked (out of memory)."))
        }
        var owned = true
        defer { if owned { curl_url_cleanup(handle) } }

        let setResult = curl_url_set(handle, CURLUPART_URL, text, 0)
        if setResult != CURLUE_OK {
            return .failure(refusal(for: setResult))
        }
        // Credentials would be sent to the target and end up in logs and on
        // pages; targets that need auth need a proper secret store.
        if has(handle, CURLUPART_USER) || has(handle, CURLUPART_PASSWORD) || has(handle, CURLUPART_OPTIONS) {
            return .failure(TargetRefusal("Credentials in the URL are not supported."))
        }
        var hostCode = CURLUE_OK
        guard let rawHost = get(handle, CURLUPART_HOST, flags: UInt32(CURLU_PUNYCODE), code: &hostCode), !rawHost.isEmpty else {
            return .failure(hostCode == CURLUE_NO_HOST || hostCode == CURLUE_OK
                ? TargetRefusal("The URL has no host.")
                : TargetRefusal("The URL's host is not a valid host name or address."))
        }
        if let explicitPort = get(handle, CURLUPART_PORT) {
            guard let value = Int(explicitPort), (1...65535).contains(value) else {
                return .failure(TargetRefusal("The port must be between 1 and 65535."))
            }
        }
        guard let portText = get(handle, CURLUPART_PORT, flags: UInt32(CURLU_DEFAULT_PORT)),
              let port = Int(portText), (1...65535).contains(port)
        else {
            return .failure(TargetRefusal("The port must be between 1 and 65535."))
        }
        // Normalise: the lowercased (punycode) host is the one libcurl
        // resolves, and fragments are never sent.
        let host = rawHost.lowercased()
        guard curl_url_set(handle, CURLUPART_HOST, host, 0) == CURLUE_OK,
              curl_url_set(handle, CURLUPART_FRAGMENT, nil, 0) == CURLUE_OK,
              let normalised = get(handle, CURLUPART_URL)
        else {
            return .failure(TargetRefusal("This is not a valid URL."))
        }
        owned = false
        return .success(ParsedTarget(handle: handle, scheme: scheme, resolveHost: host, port: port, normalised: normalised))
    }

    private static func refusal(for code: CURLUcode) -> TargetRefusal {
        switch code {
        case CURLUE_BAD_PORT_NUMBER:
            return TargetRefusal("The port must be between 1 and 65535.")
        case CURLUE_NO_HOST:
            return TargetRefusal("The URL has no host.")
        case CURLUE_BAD_HOSTNAME, CURLUE_BAD_IPV6, CURLUE_LACKS_IDN:
            return TargetRefusal("The URL's host is not a valid host name or address.")
        case CURLUE_UNSUPPORTED_SCHEME, CURLUE_BAD_SCHEME, CURLUE_NO_SCHEME:
            return TargetRefusal(onlyHTTP)
        default:
            let reason = curl_url_strerror(code).map { String(cString: $0) } ?? "unparseable"
            return TargetRefusal("This is not a valid URL (\(reason)).")
        }
    }

    private static func has(_ handle: OpaquePointer, _ part: CURLUPart) -> Bool {
        get(handle, part) != nil
    }

    private static func get(_ handle: OpaquePointer, _ part: CURLUPart, flags: UInt32 = 0) -> String? {
        var ignored = CURLUE_OK
        return get(handle, part, flags: flags, code: &ignored)
    }

    private static func get(_ handle: OpaquePointer, _ part: CURLUPart, flags: UInt32, code: inout CURLUcode) -> String? {
        var value: UnsafeMutablePointer<CChar>?
        code = curl_url_get(handle, part, &value, flags)
        guard code == CURLUE_OK, let value else { return nil }
        defer { curl_free(value) }
        return String(cString: value)
    }
}
