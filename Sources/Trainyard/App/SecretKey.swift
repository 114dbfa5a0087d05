import Foundation

/// The key that signs cookies (flash messages, sessions, CSRF tokens).
///
/// Taken from `SECRET_KEY` when set; otherwise generated once into `<data dir>/secret_key`
/// with 0600 permissions so restarts (and replicas sharing the directory) keep sessions valid.
/// The file appears whole or not at all (written aside, then hard-linked into place), so two
/// replicas starting together agree on one key; a key file others can read stops the start.
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
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let path = (dataDirectory as NSString).appendingPathComponent("secret_key")
        if let existing = try read(path) { return existing }

        let key = randomHex(bytes: 32)
        let aside = path + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        // Created with 0600 from the start: the key is never readable by others, not even briefly.
        let fd = open(aside, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot write \(aside): \(String(cString: strerror(errno)))") }
        defer { unlink(aside) }
        let bytes = Array((key + "\n").utf8)
        let written = write(fd, bytes, bytes.count)
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else { throw Failure(description: "cannot write \(aside): \(String(cString: strerror(errno)))") }
        if link(aside, path) != 0 {
            guard errno == EEXIST else { throw Failure(description: "cannot create \(path): \(String(cString: strerror(errno)))") }
            // Another process made it first: use theirs.
            guard let theirs = try read(path) else { throw Failure(description: "\(path) exists but holds no key") }
            return theirs
        }
        return Array(key.utf8)
    }

    /// The key in `path`, nil when there is no file; refuses a file that others may read or
    /// that is too short to be a key.
    static func read(_ path: String) throws -> [UInt8]? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw Failure(description: "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw Failure(description: "\(path) can be read by other users (mode \(String(info.st_mode & 0o777, radix: 8))); run `chmod 600 \(path)`")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw Failure(description: "cannot read \(path)")
        }
        let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard key.utf8.count >= 32 else {
            throw Failure(description: "\(path) holds \(key.utf8.count) characters; a key needs at least 32 (delete the file to make a new one)")
        }
        return Array(key.utf8)
    }

    static func randomHex(bytes count: Int) -> String {
        Hex.encode(Signer.randomBytes(count))
    }
}
