import HTTPServer
import Storage
import TemplateEngine

/// A column a table can be sorted by. Each table's keys are an enum, so its store's ORDER BY
/// switch is exhaustive: a new column that the store cannot sort by does not compile.
protocol ListSortKey: RawRepresentable, CaseIterable, Hashable where RawValue == String {
    /// The column header.
    var header: String { get }
    /// The words after "sorted by" in the sentence describing the table's state.
    var sortLabel: String { get }
    /// The direction a first click on the header sorts in.
    var firstDirection: TableQuery.Direction { get }
    var isNumeric: Bool { get }
}

/// A status a table can be filtered by (`?status=…`, repeatable).
protocol ListStatusFilter: RawRepresentable, CaseIterable, Hashable where RawValue == String {
    var label: String { get }
}

/// What differs between two table pages: where they live, what they list, how they sort.
struct ListDefinition<Sort: ListSortKey, Status: ListStatusFilter> {
    var path: String
    /// Plural, capitalised as it starts a sentence: "Jobs", "Deployments".
    var noun: String
    var defaultSort: Sort
    /// Deepest row a page may start at: deeper pages would make the database skip that many rows.
    var maxOffset = 10_000
    var defaultPerPage = 25
    /// The query-string name of the repeatable status filter.
    var statusName = "status"
    /// Whether `path.csv` and `path.json` download every matching row (see `TableExport`).
    var exportable = false
}

/// What a store needs to fetch one page of a table: validated filters, order and window.
struct ListSlice<Sort: ListSortKey, Status: ListStatusFilter> {
    var search: String
    var statuses: [Status]
    var sort: Sort
    var direction: TableQuery.Direction
    /// One row more than the page shows, so the store can tell whether a next page exists.
    var limit: Int
    var offset: Int

    /// `ORDER BY expr dir, tieBreaker dir LIMIT n OFFSET $m`, the sort expression chosen by the
    /// store from its own whitelist (user input only picks the enum case); the window as
    /// `ListClauses.window` writes it.
    func orderAndWindow(_ expression: String, tieBreaker: String, _ parameters: inout SQLParameters) -> String {
        let dir = direction == .asc ? "ASC" : "DESC"
        return "ORDER BY \(expression) \(dir), \(tieBreaker) \(dir) \(ListClauses.window(self, &parameters))"
    }

    /// `column = $n` or `column IN ($n, …)` for the chosen statuses; nil when none is chosen.
    func statusCondition(_ column: String, _ parameters: inout SQLParameters) -> String? {
        switch statuses.count {
        case 0: return nil
        case 1: return "\(column) = \(parameters.add(.text(statuses[0].rawValue)))"
        default: return "\(column) IN (\(parameters.list(statuses.map { .text($0.rawValue) })))"
        }
    }

    /// A case-insensitive substring match of `search` over `columns`; nil when there is no search.
    func searchCondition(_ columns: [String], _ parameters: inout SQLParameters) -> String? {
        guard !search.isEmpty else { return nil }
        let pattern = parameters.containsPattern(search)
        return "(" + columns.map { "LOWER(\($0)) LIKE \(pattern) ESCAPE '\\'" }.joined(separator: " OR ") + ")"
    }
}

/// A page of rows as a store returns it.
struct ListResult<Row> {
    var rows: [Row]
    /// True when the store found a row beyond this page.
    var hasMore: Bool
}

/// One request for a table page: the query string parsed against the definition, with the
/// page clamped to the deepest one served. Extra single-valued filters (the jobs list's
/// `model`) are added by the page, already validated.
struct ListRequest<Sort: ListSortKey, Status: ListStatusFilter> {
    let definition: ListDefinition<Sort, Status>
    private(set) var query: TableQuery
    /// True when the requested page was deeper than `maxOffset` and a shallower one is shown.
    private(set) var clamped = false
    /// Filters beyond search and status, and how the "applied" sentence names each.
    private(set) var extraFilters: [(name: String, value: String, description: String)] = []

    init(_ definition: ListDefinition<Sort, Status>, _ parameters: QueryParameters) {
        self.definition = definition
        var directions: [String: TableQuery.Direction] = [:]
        for key in Sort.allCases { directions[key.rawValue] = key.firstDirection }
        query = TableQuery(parameters, statuses: Status.allCases.map(\.rawValue), sortKeys: directions,
                           defaultSort: definition.defaultSort.rawValue, defaultPerPage: definition.defaultPerPage,
                           statusName: definition.statusName)
        if query.offset > definition.maxOffset {
            query.page = definition.maxOffset / query.perPage + 1
            clamped = true
        }
    }

    mutating func addFilter(_ name: String, value: String, description: String) {
        extraFilters.append((name, value, description))
        query.filters.append((name, value))
    }

    var sort: Sort { Sort(rawValue: query.sort) ?? definition.defaultSort }
    var statuses: [Status] { query.statuses.compactMap(Status.init(rawValue:)) }

    var slice: ListSlice<Sort, Status> {
        ListSlice(search: query.q, statuses: statuses, sort: sort, direction: query.direction,
                  limit: query.perPage + 1, offset: query.offset)
    }

    /// This state's URL, for actions that come back to the page they were pressed on.
    var currentPath: String { query.link(definition.path) }
}

/// The parts every table page shows around its rows: the filter form's state, sortable
/// headers, status filters with counts, the sentence saying what is applied, the pager and
/// which empty state (if any) applies.
struct ListChrome<Sort: ListSortKey, Status: ListStatusFilter> {
    struct Header {
        var label: String
        var href: String
        var ariaSort: String
        var sorted: Bool
        var ascending: Bool
        var numeric: Bool
    }

    struct StatusOption {
        var value: String
        var label: String
        var count: Int
        var checked: Bool
    }

    struct OtherSort {
        var label: String
        var href: String
        var current: Bool
    }

    struct Download {
        var label: String
        var href: String
    }

    var headers: [Sort: Header]
    var otherSorts: [OtherSort]
    var statusOptions: [StatusOption]
    var search: String
    var sort: String
    var direction: String
    var perPage: Int
    var applied: String
    var page: Int
    var total: Int
    var firstHref: String
    var prevHref: String?
    var nextHref: String?
    var clearHref: String
    /// The same rows, every page of them, as files: the filters and order without the window.
    var downloads: [Download]
    var listPath: String
    /// "jobs", "deployments": for the filter form's label and the empty states.
    var noun: String
    var hasRows: Bool
    /// The table has no rows at all and nothing is filtered: the "get started" state.
    var nothingAtAll: Bool
    var noMatches: Bool
    var pastTheEnd: Bool
    var clamped: Bool

    /// `headerKeys` are the columns shown as headers; other sort keys are offered as links.
    init(_ request: ListRequest<Sort, Status>, shown: Int, hasMore: Bool, counts: [Status: Int], headerKeys: [Sort]) {
        let query = request.query
        let definition = request.definition
        let path = definition.path
        var headers = [Sort: Header](minimumCapacity: headerKeys.count)
        for key in headerKeys {
            headers[key] = Header(label: key.header, href: query.sortLink(path, key: key.rawValue), ariaSort: query.ariaSort(key.rawValue),
                                  sorted: query.sort == key.rawValue, ascending: query.direction == .asc, numeric: key.isNumeric)
        }
        self.headers = headers
        otherSorts = Sort.allCases.filter { !headerKeys.contains($0) }.map { key in
            OtherSort(label: "Sort by \(key.header)", href: query.sortLink(path, key: key.rawValue), current: query.sort == key.rawValue)
        }
        statusOptions = Status.allCases.map { status in
            StatusOption(value: status.rawValue, label: status.label, count: counts[status] ?? 0,
                         checked: query.statuses.contains(status.rawValue))
        }
        search = query.q
        sort = query.sort
        direction = query.direction.rawValue
        perPage = query.perPage
        page = query.page
        total = counts.values.reduce(0, +)

        var parts: [String] = []
        if !query.q.isEmpty { parts.append("matching “\(query.q)”") }
        if !query.statuses.isEmpty { parts.append("with \(definition.statusName) " + query.statuses.joined(separator: " or ")) }
        parts += request.extraFilters.map(\.description)
        let subject = parts.isEmpty ? "All \(definition.noun.lowercased())" : definition.noun + " " + parts.joined(separator: ", ")
        applied = "\(subject), sorted by \(request.sort.sortLabel), \(query.direction == .asc ? "ascending" : "descending")"

        firstHref = query.pageLink(path, page: 1)
        prevHref = query.page > 1 ? query.pageLink(path, page: query.page - 1) : nil
        let nextOffset = query.offset + query.perPage
        nextHref = hasMore && nextOffset <= definition.maxOffset ? query.pageLink(path, page: query.page + 1) : nil
        clearHref = path
        downloads = !definition.exportable ? [] : ExportFormat.allCases.map { format in
            Download(label: "Download \(format.label)", href: query.link(Paths.export(path, format), window: false))
        }
        listPath = path
        noun = definition.noun.lowercased()
        hasRows = shown > 0
        nothingAtAll = shown == 0 && total == 0 && !query.isFiltered && query.page == 1
        noMatches = shown == 0 && !nothingAtAll && query.page == 1
        pastTheEnd = shown == 0 && !nothingAtAll && query.page > 1
        clamped = request.clamped
    }

    /// The members every table template reads, merged into the page's own values.
    func templateMembers() -> [String: TemplateValue] {
        var headerValues = [String: TemplateValue](minimumCapacity: headers.count)
        for (key, h) in headers {
            headerValues[key.rawValue] = .record(ListChromeKeys.header, [.string(h.label), .string(h.href), .string(h.ariaSort),
                                                                         .bool(h.sorted), .bool(h.ascending), .bool(h.numeric)])
        }
        // Lists of one shape as `.rows`: their values in one array, not an array each.
        var sortValues: [TemplateValue] = []
        sortValues.reserveCapacity(otherSorts.count * 3)
        for s in otherSorts {
            sortValues.append(.string(s.label)); sortValues.append(.string(s.href)); sortValues.append(.bool(s.current))
        }
        var statusValues: [TemplateValue] = []
        statusValues.reserveCapacity(statusOptions.count * 4)
        for o in statusOptions {
            statusValues.append(.string(o.value)); statusValues.append(.string(o.label))
            statusValues.append(.int(o.count)); statusValues.append(.bool(o.checked))
        }
        var downloadValues: [TemplateValue] = []
        downloadValues.reserveCapacity(downloads.count * 2)
        for d in downloads { downloadValues.append(.string(d.label)); downloadValues.append(.string(d.href)) }
        return [
            "headers": .object(headerValues),
            "hasOtherSorts": .bool(!otherSorts.isEmpty),
            "otherSorts": .rows(ListChromeKeys.otherSort, sortValues),
            "statusFilters": .rows(ListChromeKeys.statusFilter, statusValues),
            "q": .string(search), "sort": .string(sort), "dir": .string(direction), "per": .int(perPage),
            "applied": .string(applied), "page": .int(page), "total": .int(total),
            "firstHref": .string(firstHref), "prevHref": .optional(prevHref), "nextHref": .optional(nextHref),
            "clearHref": .string(clearHref), "listPath": .string(listPath),
            "hasDownloads": .bool(!downloads.isEmpty && hasRows),
            "downloads": .rows(ListChromeKeys.download, downloadValues),
            "noun": .string(noun), "stateID": .string(noun + "-state"),
            "hasRows": .bool(hasRows), "nothingAtAll": .bool(nothingAtAll), "noMatches": .bool(noMatches),
            "pastTheEnd": .bool(pastTheEnd), "clamped": .bool(clamped), "maxPage": .int(page),
        ]
    }
}

/// The shapes of a table's chrome as records (a generic type cannot hold them): made once, so
/// no key is hashed per header, sort link or status filter on every table request.
enum ListChromeKeys {
    static let header = TemplateKeys(["label", "href", "ariaSort", "sorted", "ascending", "numeric"])
    static let otherSort = TemplateKeys(["label", "href", "current"])
    static let statusFilter = TemplateKeys(["value", "label", "count", "checked"])
    static let download = TemplateKeys(["label", "href"])
}

/// A table page's chrome and its rows, turned into template values together; the template
/// loops over `rows`.
struct ListTable<Sort: ListSortKey, Status: ListStatusFilter, Row: TemplateConvertible> {
    var chrome: ListChrome<Sort, Status>
    var rows: [Row]

    func members() -> [String: TemplateValue] {
        var members = chrome.templateMembers()
        members["rows"] = rows.templateValue
        return members
    }
}
