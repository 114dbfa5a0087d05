import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

@Suite struct MetricChartCacheTests {
    func insertSteps(_ db: Database, job: Int, _ steps: ClosedRange<Int>) throws {
        try db.transaction { conn in
            for step in steps {
                // A spike every 97 steps must survive downsampling.
                let loss = step % 97 == 0 ? 9.0 : 3.0 - Double(step) / 1000
                try conn.execute("""
                    INSERT INTO training_metrics (job_id, step, epoch, loss, accuracy, learning_rate, recorded_at)
                    VALUES ($1, $2, 1, $3, $4, 0.001, $5)
                    """, [.int(Int64(job)), .int(Int64(step)), .double(loss), .double(Double(step) / 2000), .date(Date())])
            }
            try conn.execute("UPDATE training_jobs SET current_step = $2 WHERE id = $1", [.int(Int64(job)), .int(Int64(steps.upperBound))])
        }
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func incrementalSeriesEqualsAFreshOneAndKeepsSpikes(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
        let model = try Fixtures.model(db)
        let id = try Fixtures.job(db, modelID: model, epochs: 20)   // 2,000 steps
        let store = JobStore(database: db)
        let warm = MetricChartCache(buckets: 50)

        try insertSteps(db, job: id, 1...437)
        let early = try warm.series(for: try store.find(id)!, store: store)
        #expect(early.loss.count <= 100)
        try insertSteps(db, job: id, 438...1_789)
        let incremental = try warm.series(for: try store.find(id)!, store: store)
        let fresh = try MetricChartCache(buckets: 50).series(for: try store.find(id)!, store: store)
        #expect(incremental.loss.map(\.step) == fresh.loss.map(\.step))
        #expect(incremental.loss.map(\.value) == fresh.loss.map(\.value))
        #expect(incremental.accuracy.map(\.value) == fresh.accuracy.map(\.value))
        #expect(fresh.loss.count <= 100)
        #expect(fresh.loss.last?.step == 1_789)
        // Every bucket holding a spike shows it.
        #expect(fresh.loss.filter { $0.value == 9.0 }.count == 1_789 / 97)
    }
}
