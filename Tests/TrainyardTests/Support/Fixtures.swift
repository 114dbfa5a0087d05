import Foundation
import Storage
@testable import Trainyard

/// Small factories for test data, with defaults.
enum Fixtures {
    @discardableResult
    static func model(_ db: Database, slug: String = "test-model", name: String = "Test Model", parameters: Int64 = 1_200_000_000) throws -> Int {
        let rows = try db.query("""
            INSERT INTO models (slug, name, parameters, size_class, context_length, card, created_at)
            VALUES ($1, $2, $3, $4, 4096, '# Test model', $5) RETURNING id
            """, [.text(slug), .text(name), .int(parameters), .text(SizeClass.forParameters(parameters).rawValue), .date(Date())])
        return try rows[0].int("id")
    }

    /// A job created through the store, as the form would.
    @discardableResult
    static func job(_ db: Database, modelID: Int, name: String = "job", epochs: Int = 1, learningRate: Double = 3e-4) throws -> Int {
        try JobStore(database: db).create(.init(name: name, modelSlug: "", epochs: epochs, learningRate: learningRate, batchSize: 32, notes: ""),
                                          modelID: modelID, by: .system, now: Date())
    }

    static func jobStatus(_ db: Database, _ id: Int) throws -> String? {
        try db.queryOne("SELECT status FROM training_jobs WHERE id = $1", [.int(Int64(id))]).map { try $0.string("status") }
    }

    static func count(_ db: Database, _ table: String) throws -> Int {
        try db.queryOne("SELECT COUNT(*) AS n FROM \(table)")!.int("n")
    }
}
