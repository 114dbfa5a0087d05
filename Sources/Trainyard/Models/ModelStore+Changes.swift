import Foundation
import Storage

/// Adding, editing and deleting catalogue models. Each change and its audit row commit in one
/// transaction; the results are typed and the web layer chooses the words.
extension ModelStore {
    enum CreateResult: Equatable {
        case created(CatalogueModel)
        /// Another model has the slug (it was taken between the form's check and the insert).
        case slugTaken
    }

    func create(_ model: NewModel, by actor: Actor, now: Date) throws -> CreateResult {
        do {
            return try database.transaction { conn in
                let id = try Self.insert(conn, model, now: now)
                try AuditStore.record(conn, actor, .modelCreate, target: model.slug,
                                      details: "\(model.name): \(ParameterCount.text(model.parameters)) parameters, context \(model.contextLength)",
                                      now: now)
                return .created(try Self.find(conn, id: id)!)
            }
        } catch let error as DatabaseError where error.isUniqueViolation(on: Self.slugConstraint) {
            return .slugTaken
        }
    }

    enum UpdateResult: Equatable {
        /// Saved; the model as it is now.
        case updated(CatalogueModel)
        /// What was sent is what was stored.
        case unchanged(CatalogueModel)
        case slugTaken
        case notFound
    }

    /// Replaces every field of model `id`. The size class follows the parameter count, and the
    /// deployments' copy of the model's name follows a rename; their endpoints keep the slug
    /// they were deployed under, since clients call them by it.
    func update(id: Int, to new: NewModel, by actor: Actor, now: Date) throws -> UpdateResult {
        try Self.rules(new)
        do {
            return try database.transaction { conn in
                guard let row = try conn.queryOne("SELECT \(Self.columns) FROM models WHERE id = $1" + conn.dialect.lockRows(),
                                                  [.int(Int64(id))]) else {
                    return .notFound
                }
                let old = try Self.decode(row)
                let changes = Self.changes(from: old, to: new)
                guard !changes.isEmpty else { return .unchanged(old) }
                try conn.execute("""
                    UPDATE models SET slug = $2, name = $3, parameters = $4, size_class = $5, context_length = $6, card = $7
                    WHERE id = $1
                    """, [.int(Int64(id)), .text(new.slug), .text(new.name), .int(new.parameters),
                          .text(SizeClass.forParameters(new.parameters).rawValue), .int(Int64(new.contextLength)), .text(new.card)])
                if new.name != old.name { try DeploymentStore.renameModel(conn, modelID: id, to: new.name) }
                try AuditStore.record(conn, actor, .modelUpdate, target: new.slug, details: changes.joined(separator: "; "), now: now)
                return .updated(try Self.find(conn, id: id)!)
            }
        } catch let error as DatabaseError where error.isUniqueViolation(on: Self.slugConstraint) {
            return .slugTaken
        }
    }

    /// What an edit changed, as the audit trail writes it.
    static func changes(from old: CatalogueModel, to new: NewModel) -> [String] {
        var changes: [String] = []
        if old.name != new.name { changes.append("name \(old.name) → \(new.name)") }
        if old.slug != new.slug { changes.append("slug \(old.slug) → \(new.slug)") }
        if old.parameters != new.parameters {
            changes.append("parameters \(ParameterCount.text(old.parameters)) → \(ParameterCount.text(new.parameters))")
        }
        if old.contextLength != new.contextLength { changes.append("context \(old.contextLength) → \(new.contextLength)") }
        if old.card != new.card { changes.append("card edited") }
        return changes
    }

    /// What keeps a model in the catalogue: the jobs that train it and its deployments.
    struct Usage: Equatable {
        var jobs: Int
        var deployments: Int
        var isEmpty: Bool { jobs == 0 && deployments == 0 }
    }

    enum DeleteResult: Equatable {
        case deleted(CatalogueModel)
        case inUse(CatalogueModel, Usage)
        case notFound
    }

    /// Deletes the model unless a job or deployment uses it. A job created for it while the
    /// delete runs makes the foreign key refuse the delete; that too is reported as in use.
    func delete(slug: String, by actor: Actor, now: Date) throws -> DeleteResult {
        do {
            return try database.transaction { conn in
                guard let row = try conn.queryOne("SELECT \(Self.columns) FROM models WHERE slug = $1", [.text(slug)]) else {
                    return .notFound
                }
                let model = try Self.decode(row)
                let usage = try Self.usage(conn, model.id)
                guard usage.isEmpty else { return .inUse(model, usage) }
                try conn.execute("DELETE FROM models WHERE id = $1", [.int(Int64(model.id))])
                try AuditStore.record(conn, actor, .modelDelete, target: model.slug, details: model.name, now: now)
                return .deleted(model)
            }
        } catch DatabaseError.foreignKeyViolation {
            return try database.transaction { conn in
                guard let row = try conn.queryOne("SELECT \(Self.columns) FROM models WHERE slug = $1", [.text(slug)]) else {
                    return .notFound
                }
                let model = try Self.decode(row)
                return .inUse(model, try Self.usage(conn, model.id))
            }
        }
    }

    static func usage(_ conn: DatabaseConnection, _ modelID: Int) throws -> Usage {
        Usage(jobs: try JobStore.count(conn, modelID: modelID), deployments: try DeploymentStore.count(conn, modelID: modelID))
    }

    static func find(_ conn: DatabaseConnection, id: Int) throws -> CatalogueModel? {
        try conn.queryOne("SELECT \(columns) FROM models WHERE id = $1", [.int(Int64(id))]).map(decode)
    }
}
