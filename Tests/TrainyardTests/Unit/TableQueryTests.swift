import HTTPServer
import Testing
@testable import Trainyard

/// The query-string contract: anything malformed falls back to a default, never an error.
@Suite struct TableQueryTests {
    static let statuses = ["deploying", "active", "paused", "failed"]
    static let keys: [String: TableQuery.Direction] = ["model": .asc, "p95": .desc, "created": .desc]

    func parse(_ query: String) -> TableQuery {
        TableQuery(QueryParameters(parsing: query), statuses: Self.statuses, sortKeys: Self.keys, defaultSort: "created")
    }

    @Test func noParametersGiveTheDefaults() {
        let q = parse("")
        #expect(q.q == "")
        #expect(q.statuses.isEmpty)
        #expect(q.sort == "created")
        #expect(q.direction == .desc)
        #expect(q.page == 1)
        #expect(q.perPage == 25)
        #expect(q.offset == 0)
        #expect(!q.isFiltered)
        #expect(q.pairs().isEmpty)
    }

    @Test(arguments: [
        ("sort=drop%20table", "created", TableQuery.Direction.desc),
        ("sort=", "created", .desc),
        ("sort=MODEL", "created", .desc),
        ("sort=model", "model", .asc),
        ("sort=model&dir=desc", "model", .desc),
        ("sort=p95&dir=sideways", "p95", .desc),
        ("sort=p95&dir=ASC", "p95", .desc),
        ("dir=asc", "created", .asc),
        ("sort=model&sort=p95", "model", .asc),
    ])
    func sortAndDirection(query: String, sort: String, direction: TableQuery.Direction) {
        let q = parse(query)
        #expect(q.sort == sort, "\(query)")
        #expect(q.direction == direction, "\(query)")
    }

    @Test(arguments: [
        ("page=3", 3), ("page=0", 1), ("page=-2", 1), ("page=abc", 1), ("page=1.5", 1), ("page=", 1),
        ("page=99999999999999999999", 1), ("page=20000", 10_000), ("page=%203", 1),
    ])
    func pageNumbers(query: String, page: Int) {
        #expect(parse(query).page == page, "\(query)")
    }

    @Test(arguments: [("per=10", 10), ("per=0", 25), ("per=-5", 25), ("per=100000", 100), ("per=ten", 25), ("per=100", 100)])
    func rowsPerPage(query: String, per: Int) {
        #expect(parse(query).perPage == per, "\(query)")
    }

    @Test func statusesKeepTheKnownOnesOnceInTheirOwnOrder() {
        let q = parse("status=paused&status=bogus&status=active&status=paused&status=ACTIVE")
        #expect(q.statuses == ["active", "paused"])
        #expect(q.isFiltered)
    }

    @Test func searchIsTrimmedAndCapped() {
        #expect(parse("q=%20%20lfm%20%20").q == "lfm")
        #expect(parse("q=" + String(repeating: "a", count: 500)).q.count == 100)
        #expect(parse("q=%25_%5C").q == "%_\\")
        #expect(parse("q=%E2%80%9C%F0%9F%98%80").q == "“😀")
    }

    @Test func linksKeepFiltersAndLeaveOutDefaults() {
        let q = parse("q=a%26b&status=failed&sort=p95&dir=desc&page=3&per=50")
        #expect(q.pageLink("/deployments", page: 4) == "/deployments?q=a%26b&status=failed&sort=p95&dir=desc&page=4&per=50")
        // A header toggles its direction when it is the current sort, and goes back to page 1.
        #expect(q.sortLink("/deployments", key: "p95") == "/deployments?q=a%26b&status=failed&sort=p95&dir=asc&per=50")
        // Another header starts in its own natural direction.
        #expect(q.sortLink("/deployments", key: "model") == "/deployments?q=a%26b&status=failed&sort=model&dir=asc&per=50")
        #expect(q.ariaSort("p95") == "descending")
        #expect(q.ariaSort("model") == "none")
        // The default sort and first page leave no trace in the URL.
        #expect(parse("sort=created&dir=desc&page=1").pageLink("/deployments", page: 1) == "/deployments")
    }

    @Test func likeWildcardsAreEscaped() {
        #expect(SQLParametersProbe.escaped("50%_off\\") == "50\\%\\_off\\\\")
    }
}

import Storage

enum SQLParametersProbe {
    static func escaped(_ text: String) -> String { SQLParameters.likeEscaped(text) }
}
