import Foundation
import ScrapeClient

/// Everything Trainyard reads from its environment, read once into a typed value.
///
/// Environment variables come first; command-line flags (applied by the CLI) override them.
public struct AppConfiguration: Sendable {
    public enum LogLevel: String, Sendable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    public enum LogFormat: String, Sendable, CaseIterable {
        case text, json
    }

    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// `postgres://…` selects PostgreSQL; nil means SQLite in `dataDirectory`.
    public var databaseURL: String?
    public var dataDirectory: String = "./data"
    /// From `SECRET_KEY`; when nil, a key is generated once into the data directory.
    public var secretKey: String?
    /// Multiplies the pace of simulated training and replica start-up.
    public var simulationSpeed: Double = 1
    public var logLevel: LogLevel = .info
    /// `LOG_FORMAT`, `--log-format`: `text` lines, or one JSON object a line (`json`).
    public var logFormat: LogFormat = .text
    /// Marks cookies `Secure`, for a Trainyard served over TLS or behind a TLS proxy.
    public var secureCookies = false
    /// Proxy addresses whose `X-Forwarded-Proto`/`X-Forwarded-For` are believed.
    public var trustedProxies: [String] = []
    /// A session unused this long ends (seconds).
    public var sessionIdleTimeout: TimeInterval = 12 * 3600
    /// A session ends this long after sign-in however much it is used (seconds).
    public var sessionLifetime: TimeInterval = 7 * 86_400
    /// A running reported run silent this long shows as stale (seconds).
    public var reportedRunStaleAfter: TimeInterval = 600
    /// Where scrape targets may be (`TRAINYARD_SCRAPE_ALLOW`, `--scrape-allow`): loopback only
    /// unless the operator lists hosts and networks.
    public var scrapeAllowlist: ScrapeAllowlist = .loopbackOnly
    /// Directories the web layer reads at start-up.
    public var templatesDirectory: String = "Templates"
    public var publicDirectory: String = "Public"
    public var docsDirectory: String = "Docs"
    /// `TRAINYARD_ASSETS_DIR`, `--assets-dir`: the directory holding all three (see `AssetLocation`).
    public var assetsDirectory: String?
    /// Longest a database statement may run (`TRAINYARD_STATEMENT_TIMEOUT_MS`), in milliseconds,
    /// on either driver; past it the request gets 503.
    public var statementTimeoutMs = 15_000

    public init() {}

    /// Problems found while reading the environment, reported at start-up instead of guessed around.
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Reads the documented variables from `environment`, keeping defaults for the ones not set.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AppConfiguration {
        var config = AppConfiguration()
        func value(_ name: String) -> String? {
            guard let raw = environment[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            return raw
        }
        if let host = value("HOST") { config.host = host }
        if let port = value("PORT") { config.port = try parsePort(port, source: "PORT") }
        if let url = value("DATABASE_URL") { config.databaseURL = url }
        if let dir = value("TRAINYARD_DATA_DIR") { config.dataDirectory = dir }
        if let key = value("SECRET_KEY") { config.secretKey = key }
        if let speed = value("TRAINYARD_SIM_SPEED") { config.simulationSpeed = try parseSpeed(speed, source: "TRAINYARD_SIM_SPEED") }
        if let level = value("LOG_LEVEL") { config.logLevel = try parseLogLevel(level, source: "LOG_LEVEL") }
        if let format = value("LOG_FORMAT") { config.logFormat = try parseLogFormat(format, source: "LOG_FORMAT") }
        if let secure = value("TRAINYARD_SECURE_COOKIES") { config.secureCookies = try parseFlag(secure, source: "TRAINYARD_SECURE_COOKIES") }
        if let proxies = value("TRAINYARD_TRUSTED_PROXIES") { config.trustedProxies = parseList(proxies) }
        if let idle = value("TRAINYARD_SESSION_IDLE_TIMEOUT") {
            config.sessionIdleTimeout = try parseSeconds(idle, source: "TRAINYARD_SESSION_IDLE_TIMEOUT")
        }
        if let lifetime = value("TRAINYARD_SESSION_LIFETIME") {
            config.sessionLifetime = try parseSeconds(lifetime, source: "TRAINYARD_SESSION_LIFETIME")
        }
        if let stale = value("TRAINYARD_RUN_STALE_AFTER") {
            config.reportedRunStaleAfter = try parseSeconds(stale, source: "TRAINYARD_RUN_STALE_AFTER")
        }
        if let allow = value("TRAINYARD_SCRAPE_ALLOW") { config.scrapeAllowlist = try parseAllowlist(allow, source: "TRAINYARD_SCRAPE_ALLOW") }
        if let dir = value("TRAINYARD_TEMPLATES_DIR") { config.templatesDirectory = dir }
        if let dir = value("TRAINYARD_PUBLIC_DIR") { config.publicDirectory = dir }
        if let dir = value("TRAINYARD_DOCS_DIR") { config.docsDirectory = dir }
        if let dir = value("TRAINYARD_ASSETS_DIR") { config.assetsDirectory = dir }
        if let timeout = value("TRAINYARD_STATEMENT_TIMEOUT_MS") {
            guard let ms = Int(timeout), (100...3_600_000).contains(ms) else {
                throw Invalid(description: "TRAINYARD_STATEMENT_TIMEOUT_MS must be milliseconds from 100 to 3600000, got '\(timeout)'")
            }
            config.statementTimeoutMs = ms
        }
        return config
    }

    public static func parsePort(_ text: String, source: String) throws -> Int {
        guard let port = Int(text), (0...65535).contains(port) else {
            throw Invalid(description: "\(source) must be a port number between 0 and 65535, got '\(text)'")
        }
        return port
    }

    public static func parseSpeed(_ text: String, source: String) throws -> Double {
        guard let speed = Double(text), speed.isFinite, speed > 0, speed <= 100_000 else {
            throw Invalid(description: "\(source) must be a positive number (1 = real pace, 50–1000 for demos), got '\(text)'")
        }
        return speed
    }

    /// Comma- or space-separated addresses.
    public static func parseList(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
    }

    public static func parseAllowlist(_ text: String, source: String) throws -> ScrapeAllowlist {
        do { return try ScrapeAllowlist(parsing: text) } catch {
            throw Invalid(description: "\(source): \(error) (give hosts, addresses or CIDRs, comma-separated, such as 10.0.0.0/8, models.internal)")
        }
    }

    public static func parseSeconds(_ text: String, source: String) throws -> TimeInterval {
        guard let seconds = Double(text), seconds.isFinite, seconds >= 1 else {
            throw Invalid(description: "\(source) must be a number of seconds (1 or more), got '\(text)'")
        }
        return seconds
    }

    public static func parseFlag(_ text: String, source: String) throws -> Bool {
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw Invalid(description: "\(source) must be true or false, got '\(text)'")
        }
    }

    public static func parseLogFormat(_ text: String, source: String) throws -> LogFormat {
        guard let format = LogFormat(rawValue: text.lowercased()) else {
            throw Invalid(description: "\(source) must be text or json, got '\(text)'")
        }
        return format
    }

    public static func parseLogLevel(_ text: String, source: String) throws -> LogLevel {
        guard let level = LogLevel(rawValue: text.lowercased()) else {
            let names = LogLevel.allCases.map(\.rawValue).joined(separator: ", ")
            throw Invalid(description: "\(source) must be one of \(names), got '\(text)'")
        }
        return level
    }

    /// The SQLite file used when no `DATABASE_URL` is set.
    public var sqlitePath: String { (dataDirectory as NSString).appendingPathComponent("trainyard.sqlite") }

    /// True when the configured database is PostgreSQL.
    public var usesPostgres: Bool {
        guard let url = databaseURL else { return false }
        return url.hasPrefix("postgres://") || url.hasPrefix("postgresql://")
    }
}
