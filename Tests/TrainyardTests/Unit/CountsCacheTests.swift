import Testing
@testable import Trainyard

@Suite struct CountsCacheTests {
    @Test func countsAreReadAgainOnlyWhenTheirCounterMoves() {
        let cache = CountsCache<DeploymentStatus>()
        var reads = 0
        func read(_ active: Int) -> () -> [DeploymentStatus: Int] { { reads += 1; return [.active: active] } }
        let v1 = CounterStamp(counter: "deployment_status_counts", version: 1)
        let v2 = CounterStamp(counter: "deployment_status_counts", version: 2)

        #expect(cache.counts(at: v1, read: read(5)) == [.active: 5])
        #expect(cache.counts(at: v1, read: read(99)) == [.active: 5])
        #expect(reads == 1)
        // The counter moved: read again, and keep the new counts.
        #expect(cache.counts(at: v2, read: read(6)) == [.active: 6])
        #expect(cache.counts(at: v2, read: read(99)) == [.active: 6])
        #expect(reads == 2)
        // A request that read the counter before the write does not put its counts back.
        #expect(cache.counts(at: v1, read: read(5)) == [.active: 5])
        #expect(cache.counts(at: v2, read: read(99)) == [.active: 6])
        // Another counter (a page tagged by any table) is a different stamp.
        let any = CounterStamp(counter: "*", version: 2)
        #expect(cache.counts(at: any, read: read(7)) == [.active: 7])
        #expect(cache.counts(at: any, read: read(99)) == [.active: 7])
        // Without a stamp nothing is kept or served.
        #expect(cache.counts(at: nil, read: read(8)) == [.active: 8])
        #expect(reads == 5)
    }

    @Test func aReadingStampsATableByItsOwnCounterElseByAnyTable() {
        let own = CounterReading(versions: ["deployment_status_counts": 4, "deployments": 9])
        #expect(own.sum(of: ["deployment_status_counts", "deployments"]) == 13)
        #expect(own.sum(of: ["deployments"]) == 9)
        #expect(own.stamp(for: .deploymentStatusCounts) == CounterStamp(counter: "deployment_status_counts", version: 4))
        #expect(own.stamp(for: .jobStatusCounts) == nil)
        let any = CounterReading(versions: ["*": 40])
        #expect(any.stamp(for: .jobStatusCounts) == CounterStamp(counter: "*", version: 40))
    }
}
