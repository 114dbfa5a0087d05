import Foundation
import Storage

/// A model in the catalogue.
public struct CatalogueModel: Sendable, Equatable {
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

    /// "4k", "128k", "512".
    var contextLabel: String { contextLength >= 1024 ? "\(contextLength / 1024)k" : String(contextLength) }
}

/// What another feature's row shows of its model: read through `ModelStore.Join`.
struct ModelRef: Sendable, Equatable {
    var id: Int
    var slug: String
    var name: String
    var sizeClass: SizeClass
}

/// All SQL on the `models` table.
struct ModelStore {
    let database: Database

    static let columns = "id, slug, name, parameters, size_class, context_length, card"

    static func decode(_ row: Row) throws -> CatalogueModel {
        CatalogueModel(id: try row.int("id"), slug: try row.string("slug"), name: try row.string("name"),
                       parameters: Int64(try row.int("parameters")),
                       sizeClass: SizeClass(rawValue: try row.string("size_class")) ?? .small,
                       contextLength: try row.int("context_length"), card: try row.string("card"))
    }

    /// Smallest first, as the catalogue lists them.
    func all() throws -> [CatalogueModel] {
        try database.query("SELECT \(Self.columns) FROM models ORDER BY parameters, name", []).map(Self.decode)
    }

    func find(slug: String) throws -> CatalogueModel? {
        try database.queryOne("SELECT \(Self.columns) FROM models WHERE slug = $1", [.text(slug)]).map(Self.decode)
    }

    static func isEmpty(_ conn: DatabaseConnection) throws -> Bool {
        try conn.queryOne("SELECT id FROM models LIMIT 1", []) == nil
    }

    /// A model row as the caller chose it: validated by `ModelForm`, or the demo catalogue's.
    struct NewModel: Equatable {
        var slug: String
        var name: String
        var parameters: Int64
        var contextLength: Int
        var card: String
    }

    static let slugConstraint = "models_slug_key"

    /// The model's id, inserting it first when no model has its slug.
    static func ensure(_ conn: DatabaseConnection, _ model: NewModel, now: Date) throws -> Int {
        if let row = try conn.queryOne("SELECT id FROM models WHERE slug = $1", [.text(model.slug)]) {
            return try row.int("id")
        }
        return try insert(conn, model, now: now)
    }

    /// Inserts `model` with the size class its parameter count puts it in.
    static func insert(_ conn: DatabaseConnection, _ model: NewModel, now: Date) throws -> Int {
        try rules(model)
        return try conn.query("""
            INSERT INTO models (slug, name, parameters, size_class, context_length, card, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
            """, [.text(model.slug), .text(model.name), .int(model.parameters),
                  .text(SizeClass.forParameters(model.parameters).rawValue), .int(Int64(model.contextLength)),
                  .text(model.card), .date(now)])[0].int("id")
    }

    /// The form's rules, checked again where the row is written, as a typed error.
    static func rules(_ model: NewModel) throws {
        guard !model.name.isEmpty else { throw InvalidInput(field: "name", message: "Enter a name for the model.") }
        try ModelRules.name.check(model.name)
        try ModelRules.slug.check(model.slug)
        try ModelRules.parameters.check(model.parameters)
        try ModelRules.contextLength.check(model.contextLength)
        try ModelRules.card.check(model.card)
    }

    /// How stores of other features join their rows to the model they belong to: the join, the
    /// columns `decode` reads, and the name column (for search and sorting). The `models`
    /// columns are spelt here only.
    struct Join {
        let alias: String

        func on(_ foreignKey: String) -> String { "JOIN models \(alias) ON \(alias).id = \(foreignKey)" }
        /// For rows whose model may be unset (a reported run before its base model is known).
        func leftOn(_ foreignKey: String) -> String { "LEFT JOIN models \(alias) ON \(alias).id = \(foreignKey)" }

        var columns: String {
            "\(alias).id AS model_id, \(alias).slug AS model_slug, \(alias).name AS model_name, \(alias).size_class AS model_size_class"
        }

        var nameColumn: String { "\(alias).name" }

        func decode(_ row: Row) throws -> ModelRef {
            ModelRef(id: try row.int("model_id"), slug: try row.string("model_slug"), name: try row.string("model_name"),
                     sizeClass: SizeClass(rawValue: try row.string("model_size_class")) ?? .small)
        }

        /// `decode` after `leftOn`: nil when the row has no model.
        func decodeIfPresent(_ row: Row) throws -> ModelRef? {
            try row.optionalInt("model_id") == nil ? nil : try decode(row)
        }
    }
}
