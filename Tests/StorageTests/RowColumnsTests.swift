import Storage
import Testing

@Suite struct RowColumnsTests {
    @Test func namesAreFoundByExactMatchAndTheFirstOfADuplicateWins() {
        let row = Row(columns: ["id", "name", "model_name", "nam", "name", "Name"], values: [1, "first", "m", "short", "second", "upper"])
        #expect(row["name"] == .text("first"))
        #expect(row["nam"] == .text("short"))
        #expect(row["Name"] == .text("upper"))
        #expect(row["model_name"] == .text("m"))
        #expect(row["missing"] == .null)
        #expect(row[""] == .null)
    }

    @Test func aWideResultFindsEveryColumn() {
        // Past the width where the lookup switches from a scan to a table.
        let names = (0..<80).map { "column_\($0)" } + ["column_3"]
        let row = Row(columns: names, values: (0..<81).map { SQLValue.int(Int64($0)) })
        for i in 0..<80 { #expect(row["column_\(i)"] == .int(Int64(i))) }
        #expect(row["column_80"] == .null)
    }
}
