import TemplateEngine

/// The docs index: every page's title, summary and link, in reading order.
struct DocsIndexView: PageView {
    static let template = "docs/index"
    let title = "Documentation"
    let section: NavSection? = .docs

    var library: DocsLibrary

    func members() -> [String: TemplateValue] {
        ["pages": .list(library.pages.map { page in
            ["title": .string(page.title), "summary": .string(page.summary), "href": .string(Paths.doc(page.slug))]
        })]
    }
}

/// One docs page: its HTML, contents, the page list and its neighbours.
struct DocsPageView: PageView {
    static let template = "docs/show"
    var title: String { page.title }
    let section: NavSection? = .docs

    var page: DocPage
    var library: DocsLibrary

    func members() -> [String: TemplateValue] {
        func link(_ slug: String?) -> TemplateValue {
            guard let slug, let target = library.page(slug: slug) else { return .null }
            return ["title": .string(target.title), "href": .string(Paths.doc(target.slug))]
        }
        let contents: [TemplateValue] = page.headings.map { heading in
            ["text": .string(heading.text), "href": .string("#" + heading.id), "nested": .bool(heading.level > 2)]
        }
        return [
            "page": ["title": .string(page.title), "html": .string(page.html)],
            "contents": .list(contents),
            "hasContents": .bool(!contents.isEmpty),
            "pages": .list(library.pages.map { other in
                ["title": .string(other.title), "href": .string(Paths.doc(other.slug)), "current": .bool(other.slug == page.slug)]
            }),
            "previous": link(page.previous),
            "next": link(page.next),
            "indexHref": .string(Paths.docs),
        ]
    }
}
