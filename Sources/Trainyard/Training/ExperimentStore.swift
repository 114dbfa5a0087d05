import Foundation
import Storage

/// An experiment: MLflow's grouping of runs, and a filter of the jobs list.
struct Experiment: Sendable, Equatable {
    var id: Int
    var name: String
    /// "active" or "deleted" (MLflow's names; Trainyard never deletes one itself).
    var lifecycleStage: String
    var createdAt: Date
    var updatedAt: Date
}

/// All SQL on `experiments` and `experiment_tags`.
struct ExperimentStore {
    let database: Database

    static let columns = "id, name, lifecycle_stage, created_at, updated_at"

    static func decode(_ row: Row) throws -> Experiment {
        Experiment(id: try row.int("id"), name: try row.string("name"), lifecycleStage: try row.string("lifecycle_stage"),
                   createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"))
    }

    /// Every experiment by name (the jobs list's filter; teams keep a few dozen).
    func all() throws -> [Experiment] {
        try database.query("SELECT \(Self.columns) FROM experiments ORDER BY name", []).map(Self.decode)
    }

    func find(id: Int) throws -> Experiment? {
        try database.queryOne("SELECT \(Self.columns) FROM experiments WHERE id = $1", [.int(Int64(id))]).map(Self.decode)
    }

    func find(name: String) throws -> Experiment? {
        try database.queryOne("SELECT \(Self.columns) FROM experiments WHERE name = $1", [.text(name)]).map(Self.decode)
    }

    /// One page of experiments by name, `offset` rows in, optionally only active ones.
    func page(activeOnly: Bool, offset: Int, limit: Int) throws -> [Experiment] {
        let filter = activeOnly ? "WHERE lifecycle_stage = 'active'" : ""
        return try database.query("SELECT \(Self.columns) FROM experiments \(filter) ORDER BY id LIMIT $1 OFFSET $2",
                                  [.int(Int64(limit)), .int(Int64(offset))]).map(Self.decode)
    }

    func tags(_ id: Int) throws -> [RunDataStore.KeyValue] {
        try database.query("SELECT key, value FROM experiment_tags WHERE experiment_id = $1 ORDER BY key", [.int(Int64(id))])
            .map { RunDataStore.KeyValue(key: try $0.string("key"), value: try $0.string("value")) }
    }

    enum CreateResult: Equatable {
        case created(Int)
        case exists
    }

    func create(name: String, tags: [RunDataStore.KeyValue], by actor: Actor, now: Date) throws -> CreateResult {
        do {
            return try database.transaction { conn in
                let id = try conn.query("""
                    INSERT INTO experiments (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id
                    """, [.text(name), .date(now)])[0].int("id")
                for tag in tags.lastPerKey {
                    try conn.execute("INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3)",
                                     [.int(Int64(id)), .text(tag.key), .text(tag.value)])
                }
                try AuditStore.record(conn, actor, .experimentCreate, target: "\(id)", details: name, now: now)
                return .created(id)
            }
        } catch let error as DatabaseError where error.isUniqueViolation(on: "experiments_name_key") {
            return .exists
        }
    }
}
