import Foundation
import Storage

/// All SQL on `job_params` and `job_tags`: a run's params (fixed once logged, as in MLflow) and
/// its tags (set and deleted freely).
struct RunDataStore {
    let database: Database

    struct KeyValue: Equatable, Sendable {
        var key: String
        var value: String
    }

    enum Table: String {
        case params = "job_params", tags = "job_tags"
    }

    func all(_ table: Table, of jobID: Int) throws -> [KeyValue] {
        try database.query("SELECT key, value FROM \(table.rawValue) WHERE job_id = $1 ORDER BY key", [.int(Int64(jobID))])
            .map { KeyValue(key: try $0.string("key"), value: try $0.string("value")) }
    }

    /// Params or tags of many jobs, by job id.
    func all(_ table: Table, ofJobs ids: [Int]) throws -> [Int: [KeyValue]] {
        guard !ids.isEmpty else { return [:] }
        var p = SQLParameters()
        var out: [Int: [KeyValue]] = [:]
        for row in try database.query("""
            SELECT job_id, key, value FROM \(table.rawValue) WHERE job_id IN (\(p.list(ids.map { .int(Int64($0)) }))) ORDER BY job_id, key
            """, p.values) {
            out[try row.int("job_id"), default: []].append(KeyValue(key: try row.string("key"), value: try row.string("value")))
        }
        return out
    }

    // MARK: Writes (inside the caller's transaction)

    /// The first of `params` whose key is already logged with another value, with that value;
    /// nil when every one is new or unchanged.
    static func changedParam(_ conn: DatabaseConnection, jobID: Int, _ params: [KeyValue]) throws -> (KeyValue, old: String)? {
        guard !params.isEmpty else { return nil }
        var p = SQLParameters()
        let jobParameter = p.add(.int(Int64(jobID)))
        let keys = p.list(params.map { .text($0.key) })
        var stored: [String: String] = [:]
        for row in try conn.query("SELECT key, value FROM job_params WHERE job_id = \(jobParameter) AND key IN (\(keys))", p.values) {
            stored[try row.string("key")] = try row.string("value")
        }
        for param in params {
            if let old = stored[param.key], old != param.value { return (param, old) }
        }
        return nil
    }

    /// Writes params not logged yet (an unchanged one is left as it is).
    static func addParams(_ conn: DatabaseConnection, jobID: Int, _ params: [KeyValue]) throws {
        for chunk in stride(from: 0, to: params.count, by: 200).map({ params[$0..<min($0 + 200, params.count)] }) {
            var p = SQLParameters()
            let tuples = chunk.map { "(" + p.list([.int(Int64(jobID)), .text($0.key), .text($0.value)]) + ")" }
            try conn.execute("""
                INSERT INTO job_params (job_id, key, value) VALUES \(tuples.joined(separator: ", ")) ON CONFLICT (job_id, key) DO NOTHING
                """, p.values)
        }
    }

    /// Sets tags, replacing the value of any that exist.
    static func setTags(_ conn: DatabaseConnection, jobID: Int, _ tags: [KeyValue]) throws {
        for chunk in stride(from: 0, to: tags.count, by: 200).map({ tags[$0..<min($0 + 200, tags.count)] }) {
            var p = SQLParameters()
            let tuples = chunk.map { "(" + p.list([.int(Int64(jobID)), .text($0.key), .text($0.value)]) + ")" }
            try conn.execute("""
                INSERT INTO job_tags (job_id, key, value) VALUES \(tuples.joined(separator: ", "))
                ON CONFLICT (job_id, key) DO UPDATE SET value = excluded.value
                """, p.values)
        }
    }

    /// Removes a tag; false when the run has no such tag.
    static func deleteTag(_ conn: DatabaseConnection, jobID: Int, key: String) throws -> Bool {
        try conn.execute("DELETE FROM job_tags WHERE job_id = $1 AND key = $2", [.int(Int64(jobID)), .text(key)]) > 0
    }
}

extension Array where Element == RunDataStore.KeyValue {
    /// The last value given for each key, in first-seen order (a batch may repeat a tag).
    var lastPerKey: [RunDataStore.KeyValue] {
        var index: [String: Int] = [:]
        var out: [RunDataStore.KeyValue] = []
        for item in self {
            if let i = index[item.key] { out[i] = item } else {
                index[item.key] = out.count
                out.append(item)
            }
        }
        return out
    }
}
