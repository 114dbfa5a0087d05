import Foundation
import Storage

/// A model in the catalogue.
public struct CatalogueModel: Sendable {
    public var id: Int
    public var slug: String
    public var name: String
    public var parameters: Int64
    public var sizeClass: SizeClass
    public var contextLength: Int
    public var card: String

    /// "354M", "1.2B", "8B".
    public var parameterLabel: String {
        let p = Double(parameters)
        if p >= 1e9 {
            let b = p / 1e9
            return (b >= 10 || b == b.rounded() ? String(format: "%.0fB", b) : String(format: "%.1fB", b))
        }
        return String(format: "%.0fM", p / 1e6)
    }
}

/// SQL for the model catalogue.
struct ModelStore {
    let database: Database

    struct Summary {
        var model: CatalogueModel
        var jobs: Int
        var liveDeployments: Int
    }

    static let columns = "id, slug, name, parameters, size_class, context_length, card"

    static func decode(_ row: Row) throws -> CatalogueModel {
        CatalogueModel(id: try row.int("id"), slug: try row.string("slug"), name: try row.string("name"),
                       parameters: Int64(try row.int("parameters")),
                       sizeClass: SizeClass(rawValue: try row.string("size_class")) ?? .small,
                       contextLength: try row.int("context_length"), card: try row.string("card"))
    }

    func all() throws -> [CatalogueModel] {
        try database.query("SELECT \(Self.columns) FROM models ORDER BY parameters, name", []).map(Self.decode)
    }

    func summaries() throws -> [Summary] {
        let rows = try database.query("""
            SELECT m.id, m.slug, m.name, m.parameters, m.size_class, m.context_length, m.card,
              (SELECT COUNT(*) FROM training_jobs j WHERE j.model_id = m.id) AS job_count,
              (SELECT COUNT(*) FROM deployments d WHERE d.model_id = m.id AND d.deleted_at IS NULL
                 AND d.status IN ('deploying', 'active', 'paused')) AS live_count
            FROM models m ORDER BY m.parameters, m.name
            """, [])
        return try rows.map { Summary(model: try Self.decode($0), jobs: try $0.int("job_count"), liveDeployments: try $0.int("live_count")) }
    }

    func find(slug: String) throws -> CatalogueModel? {
        try database.queryOne("SELECT \(Self.columns) FROM models WHERE slug = $1", [.text(slug)]).map(Self.decode)
    }
}
