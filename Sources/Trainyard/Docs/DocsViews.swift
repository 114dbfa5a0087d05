import TemplateEngine

/// Template data for the docs pages, kept apart from the routes so it can be tested without a server.
enum DocsViews {
    /// Every page's title, summary and link, in reading order.
    static func index(_ library: DocsLibrary) -> [String: TemplateValue] {
        let pages: [TemplateValue] = library.pages.map { page in
            ["title": .string(page.title), "summary": .string(page.summary), "href": .string(Paths.doc(page.slug))]
        }
        return ["pages": .list(pages)]
    }

    /// The template data for one page: its HTML, contents, the page list and its neighbours.
    static func show(_ page: DocPage, in library: DocsLibrary) -> [String: TemplateValue] {
        func link(_ slug: String?) -> TemplateValue {
            guard let slug, let target = library.page(slug: slug) else { return .null }
            return ["title": .string(target.title), "href": .string(Paths.doc(target.slug))]
        }
        let contents: [TemplateValue] = page.headings.map { heading in
            ["text": .string(heading.text), "href": .string("#" + heading.id), "nested": .bool(heading.level > 2)]
        }
        let allPages: [TemplateValue] = library.pages.map { other in
            ["title": .string(other.title), "href": .string(Paths.doc(other.slug)), "current": .bool(other.slug == page.slug)]
        }
        return [
            "page": ["title": .string(page.title), "html": .string(page.html)],
            "contents": .list(contents),
            "hasContents": .bool(!contents.isEmpty),
            "pages": .list(allPages),
            "previous": link(page.previous),
            "next": link(page.next),
            "indexHref": .string(Paths.docs),
        ]
    }
}
