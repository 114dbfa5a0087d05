import Crypto
import Foundation

/// Signs and verifies short strings with HMAC-SHA256, for values that travel in cookies.
///
/// A signed value is `payload.signature`, both base64url. A value whose signature does not
/// match is treated as absent: a tampered cookie is ignored, never trusted.
public struct Signer: Sendable {
    /// Keyed once: `HMAC(key:)` hashes the key into its inner and outer states, which every MAC
    /// made with a fresh one would repeat (a few signed-in requests' worth of SHA-256 blocks).
    private let keyed: KeyedMAC

    public init(secret: [UInt8]) {
        keyed = KeyedMAC(prototype: HMAC<SHA256>(key: SymmetricKey(data: secret)))
    }

    /// `HMAC` is a value type whose digest states are copied on write, so each MAC works on its
    /// own copy and the prototype is only ever read: sharing it between threads is safe.
    private struct KeyedMAC: @unchecked Sendable {
        let prototype: HMAC<SHA256>
    }

    private func code(_ message: [UInt8]) -> HMAC<SHA256>.MAC {
        var mac = keyed.prototype
        mac.update(data: message)
        return mac.finalize()
    }

    /// Derives a key for one purpose so a signature made for one cookie is useless in another.
    public func derived(purpose: String) -> Signer {
        Signer(secret: Array(code(Array(("trainyard:" + purpose).utf8))))
    }

    public func sign(_ payload: [UInt8]) -> String {
        Base64URL.encode(payload) + "." + Base64URL.encode(Array(code(payload)))
    }

    public func sign(_ payload: String) -> String { sign(Array(payload.utf8)) }

    /// The payload of a correctly signed value, or nil.
    public func verify(_ signed: String) -> [UInt8]? {
        let parts = signed.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2,
              let payload = Base64URL.decode(String(parts[0])),
              let mac = Base64URL.decode(String(parts[1])),
              mac.count == SHA256.byteCount,
              constantTimeEquals(Array(code(payload)), mac)
        else { return nil }
        return payload
    }

    /// The MAC of `message`'s bytes.
    public func macBytes(_ message: [UInt8]) -> [UInt8] { Array(code(message)) }

    /// Hex MAC of `message`, for tokens compared in constant time by `matches`.
    public func mac(_ message: String) -> String {
        Hex.encode(code(Array(message.utf8)))
    }
}

extension Signer {
    /// `count` bytes from the system's secure generator.
    static func randomBytes(_ count: Int = 32) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// 32 random bytes, base64url: a secret nobody can guess.
    static func randomToken() -> String { Base64URL.encode(randomBytes()) }
}

/// Lower-case hex. Runs for every signed-in request (the CSRF token and the session digest), so it
/// writes bytes directly instead of formatting each one with `String(format:)`.
enum Hex {
    static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Base64 with the URL- and cookie-safe alphabet and no padding. Every signed-in request decodes
/// its session cookie, so both directions work on bytes instead of Foundation's padded base64
/// and three string replacements.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    /// Byte → 6-bit value, 0xFF for bytes outside the alphabet.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(alphabet[Int(n >> 18)]); out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)]); out.append(alphabet[Int(n & 63)])
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let n = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
            out.append(alphabet[Int(n >> 18)]); out.append(alphabet[Int(n >> 12 & 63)])
            if rest == 2 { out.append(alphabet[Int(n >> 6 & 63)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of `text`, or nil for anything but unpadded base64url (a length of 4n+1 cannot
    /// be one).
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for c in utf8 {
            let v = values[Int(c)]
            guard v != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return out
    }
}

/// Compares two strings in time independent of where they differ.
func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    constantTimeEquals(Array(a.utf8), Array(b.utf8))
}

/// Compares two byte strings in time independent of where they differ.
func constantTimeEquals(_ x: [UInt8], _ y: [UInt8]) -> Bool {
    guard x.count == y.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<x.count { diff |= x[i] ^ y[i] }
    return diff == 0
}
