import Foundation

/// The key that signs cookies (flash messages, CSRF sessions).
///
/// Taken from `SECRET_KEY` when set; otherwise generated once into `<data dir>/secret_key`
/// with 0600 permissions so restarts (and replicas sharing the directory) keep sessions valid.
public enum SecretKey {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func resolve(configured: String?, dataDirectory: String) throws -> [UInt8] {
        if let configured {
            guard configured.utf8.count >= 32 else {
                throw Failure(description: "SECRET_KEY must be at least 32 characters long")
            }
            return Array(configured.utf8)
        }
        let fm = FileManager.default
        try fm.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let path = (dataDirectory as NSString).appendingPathComponent("secret_key")
        if let existing = fm.contents(atPath: path), let text = String(data: existing, encoding: .utf8) {
            let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if key.utf8.count >= 32 { return Array(key.utf8) }
        }
        let key = randomHex(bytes: 32)
        // Create with 0600 from the start: the key is never readable by others, not even briefly.
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else {
            throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array((key + "\n").utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else {
            throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return Array(key.utf8)
    }

    static func randomHex(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
