import Foundation
import Storage

/// What the `trainyard` CLI does with accounts: the first admin, `create-user`, `set-password`.
/// Each answers a sentence for the terminal, or throws `AccountCommands.Refused` with the reason.
public enum AccountCommands {
    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    /// On a database with no admin, creates `admin` with a generated password and returns the
    /// credentials to print once. Two replicas starting together create one admin: the other
    /// finds the name taken and returns nil.
    public static func createFirstAdmin(_ database: Database, now: Date = Date()) throws -> (username: String, password: String)? {
        let accounts = AccountStore(database: database)
        guard try !accounts.hasAdmin() else { return nil }
        // 24 characters of base64url: 144 bits.
        let password = String(Signer.randomToken().prefix(24))
        switch try accounts.createUser(username: "admin", displayName: "Administrator", role: .admin, password: password, by: .system, now: now) {
        case .created: return ("admin", password)
        case .nameTaken: return nil
        }
    }

    public static func createUser(_ database: Database, username: String, role roleName: String, displayName: String,
                                  password: String) throws -> String {
        guard let role = Role(rawValue: roleName) else {
            throw Refused(description: "--role must be viewer, operator or admin, got '\(roleName)'")
        }
        guard AccountRules.isValidUsername(username) else { throw Refused(description: AccountRules.usernameMessage) }
        guard AccountRules.isValidPassword(password) else { throw Refused(description: AccountRules.passwordMessage) }
        guard AccountRules.displayName.accepts(displayName) else { throw Refused(description: AccountRules.displayName.message) }
        switch try AccountStore(database: database).createUser(username: username, displayName: displayName, role: role,
                                                                password: password, by: .system, now: Date()) {
        case .nameTaken: throw Refused(description: "the user name '\(username)' is taken")
        case .created(let user): return "created \(user.username) (\(user.role.rawValue))"
        }
    }

    public static func setPassword(_ database: Database, username: String, password: String) throws -> String {
        guard AccountRules.isValidPassword(password) else { throw Refused(description: AccountRules.passwordMessage) }
        let accounts = AccountStore(database: database)
        guard let user = try accounts.user(named: username) else { throw Refused(description: "there is no user '\(username)'") }
        _ = try accounts.setPassword(user.id, to: password, by: .system, now: Date())
        return "password of \(username) changed; their sessions have ended"
    }

    /// The password piped to `--password-stdin`: everything read, one trailing newline removed.
    public static func passwordFromStandardInput() -> String {
        var text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        if text.hasSuffix("\r\n") { text.removeLast(2) } else if text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
