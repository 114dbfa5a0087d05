import CArgon2
import Foundation

/// Hashes and checks passwords with argon2id (the reference C library), at OWASP's minimum
/// cost: 19 MiB of memory, 2 passes, 1 lane. The encoded hash carries its own parameters and
/// salt, so stronger settings later still verify old hashes.
enum PasswordHasher {
    static let memoryKiB: UInt32 = 19 * 1024
    static let passes: UInt32 = 2
    static let lanes: UInt32 = 1
    static let saltBytes = 16
    static let hashBytes = 32

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `$argon2id$v=19$m=19456,t=2,p=1$salt$hash`.
    static func hash(_ password: String) throws -> String {
        let salt = Signer.randomBytes(saltBytes)
        let password = Array(password.utf8)
        let length = argon2_encodedlen(passes, memoryKiB, lanes, UInt32(saltBytes), UInt32(hashBytes), Argon2_id)
        var encoded = [CChar](repeating: 0, count: length)
        let status = argon2id_hash_encoded(passes, memoryKiB, lanes, password, password.count, salt, salt.count, hashBytes,
                                           &encoded, encoded.count)
        guard status == ARGON2_OK.rawValue else {
            throw Failure(description: "argon2id failed: \(String(cString: argon2_error_message(status)))")
        }
        return String(cString: encoded)
    }

    /// Whether `password` matches `encoded`. A malformed hash never matches.
    static func verify(_ password: String, against encoded: String) -> Bool {
        let password = Array(password.utf8)
        return encoded.withCString { argon2id_verify($0, password, password.count) } == ARGON2_OK.rawValue
    }

    /// Checked against when the username is unknown, so a wrong name costs as long as a wrong
    /// password and the response time does not tell which one was wrong.
    static let decoy: String = (try? hash(UUID().uuidString)) ?? ""
}
