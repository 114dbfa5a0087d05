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
                try MetricStore.write(conn, jobID: job, [
                    .init(key: "loss", step: step, value: loss, recordedAt: Date()),
                    .init(key: "accuracy", step: step, value: Double(step) / 2000, recordedAt: Date()),
                ])
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
        let metrics = MetricStore(database: db)
        let warm = MetricChartCache(buckets: 50)
        func series(_ cache: MetricChartCache, _ key: String) throws -> MetricChartCache.Points {
            let latest = try #require(try metrics.summaries(id).first { $0.key == key }).latestStep
            return try cache.stepSeries(job: try store.find(id)!, key: key, latestStep: latest, store: metrics)
        }

        try insertSteps(db, job: id, 1...437)
        let early = try series(warm, "loss")
        #expect(early.count <= 100)
        try insertSteps(db, job: id, 438...1_789)
        let incremental = try series(warm, "loss")
        let fresh = try series(MetricChartCache(buckets: 50), "loss")
        #expect(incremental.map(\.x) == fresh.map(\.x))
        #expect(incremental.map(\.y) == fresh.map(\.y))
        #expect(try series(warm, "accuracy").map(\.y) == series(MetricChartCache(buckets: 50), "accuracy").map(\.y))
        #expect(fresh.count <= 100)
        #expect(fresh.last?.x == 1_789)
        // Every bucket holding a spike shows it.
        #expect(fresh.filter { $0.y == 9.0 }.count == 1_789 / 97)
    }

    /// A reported run has no planned length: the width grows in powers of two as it does.
    @Test func widthsArePowersOfTwoThatFitTheBuckets() {
        let cache = MetricChartCache(buckets: 250)
        #expect(cache.width(span: 1) == 1)
        #expect(cache.width(span: 250) == 1)
        #expect(cache.width(span: 251) == 2)
        #expect(cache.width(span: 100_000) == 512)
        #expect(100_000 / cache.width(span: 100_000) < 250)
    }
}
