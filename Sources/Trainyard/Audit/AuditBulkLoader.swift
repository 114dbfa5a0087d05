import Foundation
import Storage

/// Fills the audit trail with `rows` entries for the `/audit` benchmark: 50 actors, every
/// action, targets spread over 10,000 ids, one entry every 10 s back from now. Not for
/// production data.
public enum AuditBulkLoader {
    static let batch = 1_000

    public static func load(_ database: Database, rows: Int, now: Date = Date(), progress: (Int) -> Void = { _ in }) throws -> String {
        let actions = AuditAction.allCases
        var done = 0
        while done < rows {
            let count = min(batch, rows - done)
            try database.transaction { conn in
                try AuditStore.insertMany(conn, (done..<(done + count)).map { i in
                    let action = actions[i % actions.count]
                    return (at: now.addingTimeInterval(-Double(rows - i) * 10), actor: "user-\(i % 50)", action: action,
                            target: "\(i % 10_000)", details: "bench entry \(i)")
                })
            }
            done += count
            progress(done)
        }
        try database.execute("ANALYZE", [])
        return "loaded \(rows) audit entries"
    }
}
