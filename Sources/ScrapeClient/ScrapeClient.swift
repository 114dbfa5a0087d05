import CCurl
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A scraped page, as the target served it.
public struct ScrapeResponse: Sendable, Equatable {
    /// The HTTP status, always 2xx (anything else is a `ScrapeFailure`).
    public var status: Int
    /// The Content-Type header, if the target sent one.
    public var contentType: String?
    /// The body after content decoding (gzip etc.), at most `maxBodyBytes`.
    public var body: [UInt8]
    /// The IP address the page came from, for the operator to see which
    /// of a name's addresses answered.
    public var connectedAddress: String?

    public init(status: Int, contentType: String?, body: [UInt8], connectedAddress: String?) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.connectedAddress = connectedAddress
    }
}

/// Why a scrape produced no page. `description` is one line for the
/// target's "last error" and never contains the response body, which is
/// the target's to choose and could be anything.
public enum ScrapeFailure: Error, Equatable, CustomStringConvertible, Sendable {
    /// Not attempted, or stopped before connecting: the address is outside
    /// the allowlist, or the URL is not an acceptable http(s) URL. The
    /// message names the address and the allowlist.
    case refused(String)
    /// The target answered 3xx. Redirects are never followed: the new
    /// location was not what the operator entered or what was checked.
    case redirect(status: Int, location: String?)
    /// The target answered with a status outside 2xx and 3xx.
    case httpStatus(Int)
    /// The whole transfer did not finish within the client's timeout.
    case timeout(seconds: Double)
    /// The (decoded) page is larger than the client's limit.
    case tooLarge(limit: Int)
    /// Connection refused, DNS failure, TLS error…: libcurl's own words.
    case connection(String)

    public var description: String {
        switch self {
        case .refused(let message):
            return message
        case .redirect(let status, let location):
            if let location, !location.isEmpty {
                return "redirect (\(status)) to \(Self.oneLine(location, limit: 200)) not followed"
            }
            return "redirect (\(status)) not followed"
        case .httpStatus(let status):
            return "the target answered \(status)"
        case .timeout(let seconds):
            return "no answer within \(Self.formatSeconds(seconds)) s"
        case .tooLarge(let limit):
            return "the page is larger than \(Self.formatBytes(limit))"
        case .connection(let message):
            return Self.oneLine(message, limit: 200)
        }
    }

    static func formatSeconds(_ seconds: Double) -> String {
        if seconds.isFinite, seconds == seconds.rounded(), abs(seconds) < 1e9 {
            return String(Int(seconds))
        }
        return String(format: "%g", seconds)
    }

    static func formatBytes(_ bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return bytes == 1 ? "1 byte" : "\(bytes) bytes"
    }

    /// Control characters out, length capped: the text may come from the
    /// network and is shown in a table cell.
    static func oneLine(_ text: String, limit: Int) -> String {
        let flat = String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
        return flat.count <= limit ? flat : String(flat.prefix(limit)) + "…"
    }
}

/// Fetches Prometheus /metrics pages for the server, never connecting
/// outside `allowlist`.
///
/// The check is made in libcurl's open-socket callback, which sees the
/// resolved address of every connection attempt, so it holds after DNS,
/// against DNS rebinding (the address checked is the one connected to) and
/// for every address of a multi-address name. Refused attempts never create
/// a socket, so the target sees no connection at all.
///
/// A value type holding only settings; each `fetch` uses its own libcurl
/// handle, so one client may be used from several threads at once.
public struct ScrapeClient: Sendable {
    public var allowlist: ScrapeAllowlist
    /// Seconds for the whole transfer (DNS, connect, TLS, body); a scrape
    /// that takes longer than its interval is useless anyway.
    public var timeout: Double = 5
    /// The most body bytes kept, counted after decoding (10 MiB): a target
    /// cannot make the server hold more, even with a gzip bomb.
    public var maxBodyBytes: Int = 10 << 20
    /// Test hook: host → addresses, used instead of DNS (CURLOPT_RESOLVE).
    /// The allowlist still applies to these addresses.
    public var resolveOverrides: [String: [String]] = [:]

    public static let userAgent = "Trainyard-scraper"
    /// Prefers OpenMetrics, then Prometheus text 0.0.4, then anything.
    public static let accept = "application/openmetrics-text;version=1.0.0;q=0.5, text/plain;version=0.0.4;q=0.4, */*;q=0.1"

    public init(allowlist: ScrapeAllowlist) {
        self.allowlist = allowlist
    }

    public func fetch(_ url: URL) -> Result<ScrapeResponse, ScrapeFailure> {
        fetch(url.absoluteString)
    }

    /// GETs the URL once, following no redirects, and returns the page when
    /// the target answers 2xx within `timeout` and `maxBodyBytes`.
    public func fetch(_ url: String) -> Result<ScrapeResponse, ScrapeFailure> {
        guard CurlRuntime.initialised == CURLE_OK else {
            return .failure(.connection("libcurl could not be initialised"))
        }
        let target: ParsedTarget
        switch ParsedTarget.parse(url) {
        case .success(let parsed): target = parsed
        case .failure(let refusal): return .failure(.refused(refusal.message))
        }

        var resolveList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(resolveList) }
        if target.literalAddress == nil, let addresses = TargetCheck.overrides(resolveOverrides, for: target.matchHost) {
            guard !addresses.isEmpty else {
                return .failure(.connection("Could not resolve host: \(target.matchHost)"))
            }
            let joined = addresses.map { address -> String in
                if case .v6 = address { return "[\(address)]" }
                return address.description
            }.joined(separator: ",")
            resolveList = curl_slist_append(nil, "\(target.resolveHost):\(target.port):\(joined)")
        }
        let headerList = curl_slist_append(nil, "Accept: \(Self.accept)")
        defer { curl_slist_free_all(headerList) }

        // The easy handle points at the parsed URL, the lists and the
        // transfer's error buffer, so it is cleaned up while all of them
        // still exist (the lists' defers above run after this returns).
        return withExtendedLifetime(target) { () -> Result<ScrapeResponse, ScrapeFailure> in
            guard let easy = curl_easy_init() else {
                return .failure(.connection("libcurl could not create a transfer"))
            }
            let transfer = Transfer(easy: easy, allowlist: allowlist, host: target.matchHost, maxBodyBytes: maxBodyBytes)
            defer { withExtendedLifetime(transfer) { curl_easy_cleanup(easy) } }
            return perform(easy, transfer: transfer, target: target, headers: headerList, resolve: resolveList)
        }
    }

    private func perform(
        _ easy: UnsafeMutableRawPointer,
        transfer: Transfer,
        target: ParsedTarget,
        headers: UnsafeMutablePointer<curl_slist>?,
        resolve: UnsafeMutablePointer<curl_slist>?
    ) -> Result<ScrapeResponse, ScrapeFailure> {
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        let timeoutMilliseconds = Int(min(max(timeout, 0.001), 86_400) * 1000)

        var options = OptionSetter(easy: easy)
        // The URL exactly as TargetCheck parsed it; libcurl does not parse again.
        options.pointer(CURLOPT_CURLU, UnsafeMutableRawPointer(target.handle), "CURLOPT_CURLU")
        // No file:, gopher:, dict:… — neither for the request nor after a
        // redirect (which is not followed anyway).
        options.string(CURLOPT_PROTOCOLS_STR, "http,https", "CURLOPT_PROTOCOLS_STR")
        options.string(CURLOPT_REDIR_PROTOCOLS_STR, "http,https", "CURLOPT_REDIR_PROTOCOLS_STR")
        // A 3xx goes back to the operator as .redirect.
        options.long(CURLOPT_FOLLOWLOCATION, 0, "CURLOPT_FOLLOWLOCATION")
        options.long(CURLOPT_MAXREDIRS, 0, "CURLOPT_MAXREDIRS")
        options.long(CURLOPT_HTTPGET, 1, "CURLOPT_HTTPGET")
        // Every connection attempt is checked against the allowlist here.
        options.opensocket(scrapeOpenSocket, "CURLOPT_OPENSOCKETFUNCTION")
        options.pointer(CURLOPT_OPENSOCKETDATA, context, "CURLOPT_OPENSOCKETDATA")
        options.write(scrapeWrite, "CURLOPT_WRITEFUNCTION")
        options.pointer(CURLOPT_WRITEDATA, context, "CURLOPT_WRITEDATA")
        options.pointer(CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(transfer.errorBuffer), "CURLOPT_ERRORBUFFER")
        // An http_proxy in the server's environment must not carry scrapes
        // elsewhere (nor make the allowlist judge the proxy's address).
        options.string(CURLOPT_PROXY, "", "CURLOPT_PROXY")
        // No ~/.netrc passwords sent to operator-chosen hosts. Cookies are
        // off because no cookie file or jar is ever set.
        options.long(CURLOPT_NETRC, Int(CURL_NETRC_IGNORED.rawValue), "CURLOPT_NETRC")
        // Everything libcurl can decode (gzip, deflate, br, zstd).
        options.string(CURLOPT_ACCEPT_ENCODING, "", "CURLOPT_ACCEPT_ENCODING")
        options.pointer(CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headers), "CURLOPT_HTTPHEADER")
        options.string(CURLOPT_USERAGENT, Self.userAgent, "CURLOPT_USERAGENT")
        options.long(CURLOPT_TIMEOUT_MS, timeoutMilliseconds, "CURLOPT_TIMEOUT_MS")
        options.long(CURLOPT_CONNECTTIMEOUT_MS, timeoutMilliseconds, "CURLOPT_CONNECTTIMEOUT_MS")
        // Timeouts must not use SIGALRM: fetches run on many threads.
        options.long(CURLOPT_NOSIGNAL, 1, "CURLOPT_NOSIGNAL")
        if maxBodyBytes > 0 {
            // Refuses early when Content-Length already says too much. The
            // write callback is what enforces the limit (on decoded bytes);
            // 0 would mean "no limit" to libcurl, hence the guard.
            options.offT(CURLOPT_MAXFILESIZE_LARGE, curl_off_t(maxBodyBytes), "CURLOPT_MAXFILESIZE_LARGE")
        }
        if let resolve {
            options.pointer(CURLOPT_RESOLVE, UnsafeMutableRawPointer(resolve), "CURLOPT_RESOLVE")
        }
        if let failed = options.failure {
            return .failure(.connection(failed))
        }

        let code = curl_easy_perform(easy)

        let status = getLong(easy, CURLINFO_RESPONSE_CODE)
        // Once a non-2xx status line has arrived, that status is the news,
        // whatever stopped the transfer afterwards (the write callback on
        // purpose, a Content-Length over the limit, a timeout in the body).
        if code != CURLE_OK && status < 300 {
            if let refused = transfer.refusedAddress, transfer.openedSockets == 0 {
                return .failure(.refused(refusedMessage(refused, host: target.matchHost, literal: target.literalAddress != nil)))
            }
            switch code {
            case CURLE_OPERATION_TIMEDOUT:
                return .failure(.timeout(seconds: timeout))
            case CURLE_FILESIZE_EXCEEDED:
                return .failure(.tooLarge(limit: maxBodyBytes))
            case CURLE_WRITE_ERROR where transfer.exceeded:
                return .failure(.tooLarge(limit: maxBodyBytes))
            case CURLE_UNSUPPORTED_PROTOCOL:
                return .failure(.refused(ParsedTarget.onlyHTTP))
            default:
                let detail = transfer.errorMessage ?? String(cString: curl_easy_strerror(code))
                return .failure(.connection(detail))
            }
        }

        switch status {
        case 200..<300:
            return .success(ScrapeResponse(
                status: status,
                contentType: getString(easy, CURLINFO_CONTENT_TYPE),
                body: transfer.body,
                connectedAddress: getString(easy, CURLINFO_PRIMARY_IP)
            ))
        case 300..<400:
            return .failure(.redirect(status: status, location: getString(easy, CURLINFO_REDIRECT_URL)))
        case 0:
            return .failure(.connection("the target sent no HTTP response"))
        default:
            return .failure(.httpStatus(status))
        }
    }

    private func refusedMessage(_ address: IPAddress, host: String, literal: Bool) -> String {
        let target = literal ? "\(address)" : "\(address) (for \(host))"
        return "refused to connect to \(target): outside the scrape allowlist (\(allowlist))"
    }
}

/// curl_global_init, exactly once per process and thread-safely: a static
/// `let` is initialised atomically on first use.
enum CurlRuntime {
    static let initialised: CURLcode = ccurl_global_init_default()
}

/// Sets options in order and remembers the first one libcurl rejected;
/// a rejected safety option must stop the fetch, not be ignored.
private struct OptionSetter {
    let easy: UnsafeMutableRawPointer
    var failure: String?

    init(easy: UnsafeMutableRawPointer) {
        self.easy = easy
    }

    private mutating func note(_ code: CURLcode, _ name: String) {
        if code != CURLE_OK, failure == nil {
            failure = "libcurl refused \(name): \(String(cString: curl_easy_strerror(code)))"
        }
    }

    mutating func long(_ option: CURLoption, _ value: Int, _ name: String) {
        note(ccurl_setopt_long(easy, option, value), name)
    }

    mutating func string(_ option: CURLoption, _ value: String, _ name: String) {
        note(ccurl_setopt_string(easy, option, value), name)
    }

    mutating func pointer(_ option: CURLoption, _ value: UnsafeMutableRawPointer?, _ name: String) {
        note(ccurl_setopt_pointer(easy, option, value), name)
    }

    mutating func offT(_ option: CURLoption, _ value: curl_off_t, _ name: String) {
        note(ccurl_setopt_off_t(easy, option, value), name)
    }

    mutating func write(_ callback: curl_write_callback, _ name: String) {
        note(ccurl_setopt_write_function(easy, callback), name)
    }

    mutating func opensocket(_ callback: curl_opensocket_callback, _ name: String) {
        note(ccurl_setopt_opensocket_function(easy, callback), name)
    }
}

private func getLong(_ easy: UnsafeMutableRawPointer, _ info: CURLINFO) -> Int {
    var value = 0
    return ccurl_getinfo_long(easy, info, &value) == CURLE_OK ? value : 0
}

private func getString(_ easy: UnsafeMutableRawPointer, _ info: CURLINFO) -> String? {
    var value: UnsafePointer<CChar>?
    guard ccurl_getinfo_string(easy, info, &value) == CURLE_OK, let value else { return nil }
    return String(cString: value)
}

/// State one transfer's callbacks share, reached from C through the
/// context pointer. Only the thread running curl_easy_perform touches it.
private final class Transfer {
    let easy: UnsafeMutableRawPointer
    let allowlist: ScrapeAllowlist
    let host: String
    let maxBodyBytes: Int
    var body: [UInt8] = []
    /// Decoded body bytes seen, kept or not.
    var received = 0
    /// Decided at the first body byte, from the status: keep (2xx) or drop (3xx).
    var keepBody: Bool?
    /// The body passed `maxBodyBytes`; the write callback stopped the transfer.
    var exceeded = false
    /// The first address a connection attempt was refused for.
    var refusedAddress: IPAddress?
    /// Sockets created for allowed addresses: when there were some, a
    /// failure is theirs to explain, not the refusal's.
    var openedSockets = 0
    let errorBuffer: UnsafeMutablePointer<CChar>

    init(easy: UnsafeMutableRawPointer, allowlist: ScrapeAllowlist, host: String, maxBodyBytes: Int) {
        self.easy = easy
        self.allowlist = allowlist
        self.host = host
        self.maxBodyBytes = max(maxBodyBytes, 0)
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        errorBuffer.deallocate()
    }

    var errorMessage: String? {
        errorBuffer[0] == 0 ? nil : String(cString: errorBuffer).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// CURLOPT_OPENSOCKETFUNCTION: the socket exists only if the address
    /// is allowed. CURL_SOCKET_BAD makes libcurl try the name's next
    /// address, or fail with CURLE_COULDNT_CONNECT.
    func openSocket(purpose: curlsocktype, address: UnsafeMutablePointer<curl_sockaddr>) -> curl_socket_t {
        guard purpose == CURLSOCKTYPE_IPCXN else { return CURL_SOCKET_BAD }
        var bytes = [UInt8](repeating: 0, count: 16)
        let length = Int(ccurl_sockaddr_ip(address, &bytes))
        guard let peer = IPAddress(networkBytes: Array(bytes.prefix(length))) else {
            return CURL_SOCKET_BAD
        }
        guard allowlist.allows(address: peer, forHost: host) else {
            if refusedAddress == nil { refusedAddress = peer }
            return CURL_SOCKET_BAD
        }
        // Close-on-exec, so sockets do not leak into processes the server
        // starts; libcurl makes the socket non-blocking itself.
        let socketType = address.pointee.socktype | Int32(SOCK_CLOEXEC.rawValue)
        let descriptor = socket(address.pointee.family, socketType, address.pointee.protocol)
        guard descriptor >= 0 else { return CURL_SOCKET_BAD }
        openedSockets += 1
        return descriptor
    }

    /// CURLOPT_WRITEFUNCTION. libcurl hands over the body *after* content
    /// decoding, so counting here caps the decoded size: a small gzip bomb
    /// is stopped at the limit. Returning less than `count` aborts the
    /// transfer with CURLE_WRITE_ERROR.
    ///
    /// Only a 2xx body is kept. A 4xx/5xx body is not wanted, so the
    /// transfer stops at its first byte; a 3xx body is read and dropped,
    /// because libcurl works out CURLINFO_REDIRECT_URL only when the
    /// transfer completes (it still counts against the limit; past it the
    /// redirect is reported without a location).
    func write(_ data: UnsafeMutablePointer<CChar>?, count: Int) -> Int {
        guard count > 0, let data else { return count }
        if keepBody == nil {
            switch getLong(easy, CURLINFO_RESPONSE_CODE) {
            case 200..<300: keepBody = true
            case 300..<400: keepBody = false
            default:
                return 0
            }
        }
        guard count <= maxBodyBytes - received else {
            exceeded = true
            return 0
        }
        received += count
        if keepBody == true {
            data.withMemoryRebound(to: UInt8.self, capacity: count) { bytes in
                body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: count))
            }
        }
        return count
    }
}

private func scrapeOpenSocket(
    _ context: UnsafeMutableRawPointer?,
    _ purpose: curlsocktype,
    _ address: UnsafeMutablePointer<curl_sockaddr>?
) -> curl_socket_t {
    guard let context, let address else { return CURL_SOCKET_BAD }
    return Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue().openSocket(purpose: purpose, address: address)
}

private func scrapeWrite(
    _ data: UnsafeMutablePointer<CChar>?,
    _ size: Int,
    _ count: Int,
    _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let context else { return 0 }
    return Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue().write(data, count: size * count)
}
