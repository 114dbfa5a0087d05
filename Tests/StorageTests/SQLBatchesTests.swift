import Storage
import Testing

@Suite struct SQLBatchesTests {
    @Test func batchesArePowersOfTwoLargestFirstAndCoverEveryRowOnce() {
        let ranges = SQLBatches.ranges(count: 2000)
        #expect(ranges.map(\.count) == [1024, 512, 256, 128, 64, 16])
        #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == 2000)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        #expect(SQLBatches.ranges(count: 5, largest: 2).map(\.count) == [2, 2, 1])
        #expect(SQLBatches.ranges(count: 3000, largest: 1024).map(\.count) == [1024, 1024, 512, 256, 128, 32, 16, 8])
        #expect(SQLBatches.ranges(count: 0).isEmpty)
    }

    /// Every row count up to 3,000 uses at most a dozen distinct batch sizes, so the statements'
    /// texts (and PostgreSQL's prepared statements) stay few.
    @Test func anyCountUsesOnlyElevenBatchSizes() {
        var sizes = Set<Int>()
        for count in 0...3000 { sizes.formUnion(SQLBatches.ranges(count: count).map(\.count)) }
        #expect(sizes == Set((0...10).map { 1 << $0 }))
    }
}
