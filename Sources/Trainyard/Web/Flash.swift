import Foundation

/// A message shown once on the page after a redirect, carried in a signed cookie.
///
/// A flash can also carry what the user typed into a form and the error for each field,
/// so a refused form comes back filled in, with the message next to the field.
public struct Flash: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case success, error, info }

    public var kind: Kind
    public var message: String
    /// Form values as typed, by field name.
    public var values: [String: String]
    /// Field-specific messages, by field name.
    public var fieldErrors: [String: String]
    /// A link the message points to (a same-site path the server built), e.g. the deployment
    /// a refusal is about.
    public var linkLabel: String?
    public var linkHref: String?

    public init(_ kind: Kind, _ message: String, values: [String: String] = [:], fieldErrors: [String: String] = [:]) {
        self.kind = kind
        self.message = message
        self.values = values
        self.fieldErrors = fieldErrors
    }

    public static func success(_ message: String) -> Flash { Flash(.success, message) }
    public static func error(_ message: String) -> Flash { Flash(.error, message) }

    static let cookieName = "ty_flash"
    /// Browsers drop cookies over ~4 KB; stay clearly below, keeping the message when trimming.
    static let maxCookieBytes = 3800

    func encoded(with signer: Signer) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var candidate = self
        var data = (try? encoder.encode(candidate)) ?? Data()
        var signed = signer.sign(Array(data))
        if signed.utf8.count > Self.maxCookieBytes {
            // Too much typed text to carry: keep the message and field errors, drop the longest values.
            for key in candidate.values.keys.sorted(by: { candidate.values[$0]!.count > candidate.values[$1]!.count }) {
                candidate.values[key] = nil
                data = (try? encoder.encode(candidate)) ?? Data()
                signed = signer.sign(Array(data))
                if signed.utf8.count <= Self.maxCookieBytes { break }
            }
        }
        if signed.utf8.count > Self.maxCookieBytes {
            // Messages that quote what was typed: shorten them, and as a last resort keep only
            // the message, so the refusal is always seen (a browser drops an oversized cookie).
            candidate.message = candidate.message.prefix(scalars: 600)
            candidate.fieldErrors = candidate.fieldErrors.mapValues { $0.prefix(scalars: 200) }
            signed = signer.sign(Array((try? encoder.encode(candidate)) ?? Data()))
            if signed.utf8.count > Self.maxCookieBytes {
                candidate.fieldErrors = [:]
                candidate.message = candidate.message.prefix(scalars: 300)
                signed = signer.sign(Array((try? encoder.encode(candidate)) ?? Data()))
            }
        }
        return signed
    }

    static func decode(_ cookie: String, with signer: Signer) -> Flash? {
        guard let payload = signer.verify(cookie) else { return nil }
        return try? JSONDecoder().decode(Flash.self, from: Data(payload))
    }
}
