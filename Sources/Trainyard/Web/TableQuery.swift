import HTTPServer

/// The query-string contract of a sortable, filterable, paged table, parsed leniently:
/// unknown or malformed values fall back to defaults and the page shows what was applied.
///
/// `/deployments?q=lfm&status=active&status=paused&sort=p95&dir=desc&page=2&per=25`
public struct TableQuery: Equatable, Sendable {
    public enum Direction: String, Sendable { case asc, desc }

    public var q: String = ""
    public var statuses: [String] = []
    /// Extra single-valued filters (e.g. `model` on the jobs list), already validated by the caller.
    public var filters: [(String, String)] = []
    public var sort: String
    public var direction: Direction
    public var page: Int = 1
    public var perPage: Int

    public static let maxPerPage = 100
    public static let maxPage = 10_000

    public static func == (a: TableQuery, b: TableQuery) -> Bool {
        a.q == b.q && a.statuses == b.statuses && a.sort == b.sort && a.direction == b.direction
            && a.page == b.page && a.perPage == b.perPage && a.filters.map { $0.0 + "=" + $0.1 } == b.filters.map { $0.0 + "=" + $0.1 }
    }

    /// Parses `query` against the allowed statuses and sort keys.
    /// `defaultDirections` gives each sort key the direction a first click should use.
    public init(_ query: QueryParameters, statuses allowed: [String], sortKeys: [String: Direction],
                defaultSort: String, defaultPerPage: Int = 25, statusName: String = "status") {
        self.statusName = statusName
        let text = (query["q"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        q = text.prefix(scalars: 100)
        var seen = Set<String>()
        statuses = query.all(statusName).filter { allowed.contains($0) && seen.insert($0).inserted }
        statuses.sort { allowed.firstIndex(of: $0)! < allowed.firstIndex(of: $1)! }
        if let key = query["sort"], let natural = sortKeys[key] {
            sort = key
            direction = Direction(rawValue: query["dir"] ?? "") ?? natural
        } else {
            sort = defaultSort
            direction = Direction(rawValue: query["dir"] ?? "") ?? sortKeys[defaultSort] ?? .desc
        }
        if let text = query["page"], let value = Int(text), value >= 1 { page = min(value, Self.maxPage) }
        perPage = defaultPerPage
        if let text = query["per"], let value = Int(text), value >= 1 { perPage = min(value, Self.maxPerPage) }
        self.defaultSort = defaultSort
        self.defaultPerPage = defaultPerPage
        self.sortKeys = sortKeys
    }

    let defaultSort: String
    let defaultPerPage: Int
    /// The repeatable filter's name: `status` on most tables, `action` on the audit trail.
    let statusName: String
    let sortKeys: [String: Direction]

    public var offset: Int { (page - 1) * perPage }
    public var isFiltered: Bool { !q.isEmpty || !statuses.isEmpty || !filters.isEmpty }

    /// The query pairs for this state, leaving out defaults so URLs stay short. Without the
    /// window (`page`, `per`): the state of the whole table, as a download takes it.
    func pairs(page: Int? = nil, sort: String? = nil, direction: Direction? = nil, window: Bool = true) -> [(String, String)] {
        var out: [(String, String)] = []
        visitPairs(page: page, sort: sort, direction: direction, window: window) { out.append(($0, $1)) }
        return out
    }

    /// `pairs`, handed one at a time to `pair` (for links built without an array of them).
    func visitPairs(page: Int? = nil, sort: String? = nil, direction: Direction? = nil, window: Bool = true,
                    _ pair: (String, String) -> Void) {
        if !q.isEmpty { pair("q", q) }
        for status in statuses { pair(statusName, status) }
        for (name, value) in filters { pair(name, value) }
        let sortKey = sort ?? self.sort
        let dir = direction ?? self.direction
        if sortKey != defaultSort || dir != (sortKeys[defaultSort] ?? .desc) {
            pair("sort", sortKey)
            pair("dir", dir.rawValue)
        }
        guard window else { return }
        let pageNumber = page ?? self.page
        if pageNumber > 1 { pair("page", String(pageNumber)) }
        if perPage != defaultPerPage { pair("per", String(perPage)) }
    }

    /// `path` with this state's pairs, changed as given.
    func link(_ path: String, page: Int? = nil, sort: String? = nil, direction: Direction? = nil, window: Bool = true) -> String {
        Paths.with(path) { pair in visitPairs(page: page, sort: sort, direction: direction, window: window, pair) }
    }

    /// Link for a column header: the same filters, this key, toggled direction if already sorted by it, page 1.
    public func sortLink(_ path: String, key: String) -> String {
        let dir: Direction = key == sort ? (direction == .asc ? .desc : .asc) : (sortKeys[key] ?? .asc)
        return link(path, page: 1, sort: key, direction: dir)
    }

    public func pageLink(_ path: String, page: Int) -> String {
        link(path, page: page)
    }

    /// `aria-sort` value for a column header.
    public func ariaSort(_ key: String) -> String {
        key == sort ? (direction == .asc ? "ascending" : "descending") : "none"
    }
}
