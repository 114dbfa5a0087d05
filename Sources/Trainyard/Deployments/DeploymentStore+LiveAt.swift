import Foundation
import Storage

/// "What was live when": computed from history rows, each a snapshot of (status, revision,
/// replicas) after its event, so any past instant has an answer: the last row at or before it.
extension DeploymentStore {
    struct StateAt: Equatable {
        var id: Int
        var name: String
        var version: String
        var status: DeploymentStatus
        var revision: Int?
        var replicas: Int?
        var event: DeploymentEvent
        /// When the row that set this state was written.
        var since: Date

        /// Serving traffic: active (a deleted deployment's last row is its delete, after which it serves nothing).
        var serving: Bool { status == .active && event != .delete }
    }

    /// The state of each of the model's deployments at `instant` (those that existed then),
    /// newest version first.
    func states(modelID: Int, at instant: Date) throws -> [StateAt] {
        try database.query("""
            SELECT d.id, d.name, d.version, h.new_status, h.event, h.revision, h.replicas, h.created_at
            FROM deployments d JOIN deployment_status_history h ON h.deployment_id = d.id
            WHERE d.model_id = $1 AND h.id = (
                SELECT h2.id FROM deployment_status_history h2 WHERE h2.deployment_id = d.id AND h2.created_at <= $2
                ORDER BY h2.created_at DESC, h2.id DESC LIMIT 1)
            ORDER BY d.version_number DESC
            """, [.int(Int64(modelID)), .date(instant)]).map {
            StateAt(id: try $0.int("id"), name: try $0.string("name"), version: try $0.string("version"),
                    status: DeploymentStatus(rawValue: try $0.string("new_status")) ?? .failed,
                    revision: try $0.optionalInt("revision"), replicas: try $0.optionalInt("replicas"),
                    event: DeploymentEvent(rawValue: try $0.string("event")) ?? .status, since: try $0.date("created_at"))
        }
    }

    /// The SQL condition "deployment `d` was active at the instant bound as `parameter`": it
    /// existed, was not yet deleted, and its last history row by then says active.
    static func servingCondition(at parameter: String, alias d: String = "d") -> String {
        """
        \(d).created_at <= \(parameter) AND (\(d).deleted_at IS NULL OR \(d).deleted_at > \(parameter))
          AND (SELECT h.new_status FROM deployment_status_history h WHERE h.deployment_id = \(d).id AND h.created_at <= \(parameter)
               ORDER BY h.created_at DESC, h.id DESC LIMIT 1) = 'active'
        """
    }
}

/// Instants typed by people and scripts: ISO 8601 with a UTC offset, to the minute or finer.
/// `2026-11-30T14:00Z`, `2026-11-30T14:00:30+01:00`, `2026-11-30 14:00:30.250-05:00`.
enum Instant {
    static func parse(_ text: String) -> Date? {
        let s = Array(text.trimmingCharacters(in: .whitespaces).utf8)
        guard s.count >= 17, s.count <= 40 else { return nil }
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= s.count else { return nil }
            var value = 0
            for k in 0..<n {
                let c = s[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
            }
            i += n
            return value
        }
        func expect(_ c: UInt8...) -> Bool {
            guard i < s.count, c.contains(s[i]) else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(45), let month = digits(2), expect(45), let day = digits(2),
              expect(84, 116, 32), let hour = digits(2), expect(58), let minute = digits(2) else { return nil }
        var second = 0, fraction = 0.0
        if i < s.count, s[i] == 58 {
            i += 1
            guard let sec = digits(2) else { return nil }
            second = sec
            if i < s.count, s[i] == 46 || s[i] == 44 {
                i += 1
                var scale = 0.1, any = false
                while i < s.count, s[i] >= 48 && s[i] <= 57, scale > 1e-9 {
                    fraction += Double(s[i] - 48) * scale
                    scale /= 10
                    i += 1
                    any = true
                }
                guard any else { return nil }
            }
        }
        var offset = 0
        guard i < s.count else { return nil }   // an offset is required
        if s[i] == 90 || s[i] == 122 {
            i += 1
        } else if s[i] == 43 || s[i] == 45 {
            let sign = s[i] == 45 ? -1 : 1
            i += 1
            guard let oh = digits(2) else { return nil }
            _ = expect(58)
            guard let om = digits(2), oh <= 23, om <= 59 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == s.count, (1...12).contains(month), (1...31).contains(day), hour <= 23, minute <= 59, second <= 60,
              (1970...9999).contains(year) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: min(second, 59))
        guard let date = calendar.date(from: components), calendar.component(.day, from: date) == day else { return nil }
        return date.addingTimeInterval(fraction - Double(offset))
    }

    static let example = "2026-11-30T14:00Z"
    static let message = "Give the time in ISO 8601 with a UTC offset, for example \(example) or 2026-11-30T15:00+01:00."
}
