/// What a user may do. Each role includes the ones below it.
public enum Role: String, CaseIterable, Sendable, Comparable {
    /// Sees everything.
    case viewer
    /// Also creates, starts and stops jobs, deploys, and runs the deployment lifecycle actions.
    case `operator`
    /// Also manages users and every token.
    case admin

    var label: String {
        switch self {
        case .viewer: "Viewer"
        case .operator: "Operator"
        case .admin: "Admin"
        }
    }

    var rank: Int {
        switch self {
        case .viewer: 0
        case .operator: 1
        case .admin: 2
        }
    }

    public static func < (a: Role, b: Role) -> Bool { a.rank < b.rank }

    /// "an operator", "an admin", "a viewer".
    var withArticle: String { self == .viewer ? "a viewer" : "an \(rawValue)" }
}

/// Who is making a change, and from where: every store method that changes state takes one
/// and writes it into the audit trail (and status history) in the same transaction.
public struct Actor: Sendable, Equatable {
    /// nil for the system (the background runner, seeding).
    public var userID: Int?
    /// The name history and the audit trail show.
    public var username: String
    /// The name pages greet them by.
    public var displayName: String
    public var role: Role
    /// The client's address as the web layer determined it ("" for the system).
    public var clientAddress: String

    /// The background runner and other work nobody asked for.
    public static let system = Actor(userID: nil, username: "system", displayName: "System", role: .admin, clientAddress: "")
    /// A deployment's guardrail acting on a sustained breach.
    public static let guardrail = Actor(userID: nil, username: "guardrail", displayName: "Guardrail", role: .admin, clientAddress: "")

    public func may(_ needed: Role) -> Bool { role >= needed }
}
