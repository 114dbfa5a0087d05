import HTTPServer
import Testing
@testable import Trainyard

/// The list component both tables are built on: clamps, empty states, the applied sentence.
@Suite struct ListPageTests {
    func request(_ query: String, maxOffset: Int = 10_000) -> ListRequest<JobSortKey, JobStatus> {
        var definition = TrainingRoutes.list
        definition.maxOffset = maxOffset
        return ListRequest(definition, QueryParameters(parsing: query))
    }

    func chrome(_ query: String, shown: Int, hasMore: Bool = false, total: Int = 40, maxOffset: Int = 10_000) -> ListChrome<JobSortKey, JobStatus> {
        ListChrome(request(query, maxOffset: maxOffset), shown: shown, hasMore: hasMore, counts: [.queued: total],
                   headerKeys: [.name, .created])
    }

    @Test func aPageDeeperThanTheLimitIsClampedToTheDeepestServed() {
        let r = request("page=500&per=25", maxOffset: 1_000)
        #expect(r.clamped)
        #expect(r.query.page == 41)
        #expect(r.slice.offset == 1_000)
        #expect(r.slice.limit == 26)
        let shallow = request("page=41&per=25", maxOffset: 1_000)
        #expect(!shallow.clamped)
        #expect(shallow.query.page == 41)
    }

    @Test func noNextLinkBeyondTheDeepestPage() {
        // Rows remain, but the next page would start past maxOffset.
        let last = chrome("page=41&per=25", shown: 25, hasMore: true, maxOffset: 1_000)
        #expect(last.nextHref == nil)
        #expect(last.prevHref == "/training/jobs?page=40")
        let middle = chrome("page=2", shown: 25, hasMore: true)
        #expect(middle.nextHref == "/training/jobs?page=3")
        #expect(middle.prevHref == "/training/jobs")
    }

    @Test func emptyStatesAreTellingApart() {
        let fresh = chrome("", shown: 0, total: 0)
        #expect(fresh.nothingAtAll && !fresh.noMatches && !fresh.pastTheEnd && !fresh.hasRows)
        let filtered = chrome("q=zzz", shown: 0)
        #expect(filtered.noMatches && !filtered.nothingAtAll && !filtered.pastTheEnd)
        let pastTheEnd = chrome("page=9", shown: 0)
        #expect(pastTheEnd.pastTheEnd && !pastTheEnd.noMatches)
        // Filtered to nothing on an empty table is "no matches", not the get-started state.
        let filteredEmpty = chrome("status=failed", shown: 0, total: 0)
        #expect(filteredEmpty.noMatches && !filteredEmpty.nothingAtAll)
        let rows = chrome("", shown: 3)
        #expect(rows.hasRows && !rows.noMatches && !rows.pastTheEnd && !rows.nothingAtAll)
    }

    @Test func theAppliedSentenceSaysWhatWasApplied() {
        #expect(chrome("", shown: 1).applied == "All jobs, sorted by created, descending")
        #expect(chrome("q=lfm&status=failed&status=queued&sort=lr&dir=asc", shown: 1).applied
                == "Jobs matching “lfm”, with status queued or failed, sorted by learning rate, ascending")
        var r = request("sort=bogus")
        r.addFilter("model", value: "lfm2", description: "for model LFM2")
        let c = ListChrome(r, shown: 1, hasMore: false, counts: [:], headerKeys: [])
        #expect(c.applied == "Jobs for model LFM2, sorted by created, descending")
        // The extra filter travels with every link.
        #expect(c.firstHref == "/training/jobs?model=lfm2")
    }

    @Test func headersAndOtherSortsComeFromTheKeys() {
        let c = chrome("sort=name&dir=asc", shown: 1)
        #expect(c.headers[.name]?.ariaSort == "ascending")
        #expect(c.headers[.name]?.href == "/training/jobs?sort=name&dir=desc")
        #expect(c.headers[.created]?.ariaSort == "none")
        #expect(c.headers[.epochs] == nil)
        // Sort keys without a header are offered as links.
        #expect(c.otherSorts.map(\.label).contains("Sort by Epochs"))
        #expect(c.statusOptions.map(\.value) == ["queued", "running", "complete", "failed"])
        #expect(c.total == 40)
    }

    @Test func theStoreSQLTakesOnlyWhitelistedPieces() {
        var p = Storage.SQLParameters()
        let slice = request("q=50%25&status=queued&status=failed&sort=name").slice
        #expect(slice.searchCondition(["j.name"], &p) == "(LOWER(j.name) LIKE $1 ESCAPE '\\')")
        #expect(slice.statusCondition("j.status", &p) == "j.status IN ($2, $3)")
        // A first page's window is written in (see ListClauses.window); deeper pages pass the offset.
        #expect(slice.orderAndWindow("j.name", tieBreaker: "j.id", &p) == "ORDER BY j.name ASC, j.id ASC LIMIT 26")
        #expect(p.values == [.text("%50\\%%"), .text("queued"), .text("failed")])
        var q = Storage.SQLParameters()
        #expect(request("sort=name&page=3").slice.orderAndWindow("j.name", tieBreaker: "j.id", &q) == "ORDER BY j.name ASC, j.id ASC LIMIT 26 OFFSET $1")
        #expect(q.values == [.int(50)])
    }
}

import Storage
