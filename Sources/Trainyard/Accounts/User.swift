import Foundation

/// Someone who can sign in.
struct User: Equatable, Sendable {
    var id: Int
    var username: String
    var displayName: String
    var role: Role
    var disabled: Bool
    var createdAt: Date
    var updatedAt: Date

    /// The display name, or the user name when there is none.
    var shownName: String { displayName.isEmpty ? username : displayName }

    func actor(from address: String) -> Actor {
        Actor(userID: id, username: username, displayName: shownName, role: role, clientAddress: address)
    }
}

/// A personal access token as its list shows it; the secret itself is shown once, at creation.
struct APIToken: Equatable, Sendable {
    var id: Int
    var userID: Int
    var username: String
    var name: String
    var prefix: String
    var createdAt: Date
    var lastUsedAt: Date?
    var expiresAt: Date?
    var revokedAt: Date?

    func isUsable(at now: Date) -> Bool { revokedAt == nil && (expiresAt.map { $0 > now } ?? true) }
}

/// The limits of account fields, defined once for the forms, the store, the CLI and the docs.
enum AccountRules {
    static let usernameMessage = "A user name is 1 to 64 characters of a–z, 0–9, dot, underscore or hyphen."
    static let displayName = TextRule(field: "display_name", maxScalars: 100, message: "Keep the display name to 100 characters or fewer.")
    static let passwordMinCharacters = 12
    static let passwordMaxBytes = 1024
    static let passwordMessage = "A password is at least 12 characters (and at most 1,024 bytes)."
    static let tokenName = TextRule(field: "name", maxScalars: 100, message: "Give the token a name of 1 to 100 characters.")

    static func isValidUsername(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return (1...64).contains(bytes.count) && bytes.allSatisfy { b in
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
        }
    }

    static func isValidPassword(_ password: String) -> Bool {
        password.count >= passwordMinCharacters && password.utf8.count <= passwordMaxBytes
    }

    static func checkUsername(_ name: String) throws {
        guard isValidUsername(name) else { throw InvalidInput(field: "username", message: usernameMessage) }
    }

    static func checkPassword(_ password: String) throws {
        guard isValidPassword(password) else { throw InvalidInput(field: "password", message: passwordMessage) }
    }
}
