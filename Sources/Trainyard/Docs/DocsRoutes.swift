import HTTPServer

/// The user documentation: an index of every page and each page with its table of contents.
enum DocsRoutes {
    static func add(to app: TrainyardApp) {
        app.get("/docs") { [unowned app] ctx in try app.web.render(DocsIndexView(library: app.docs), ctx) }
        app.get("/docs/{slug}") { [unowned app] ctx in try show(app, ctx) }
    }

    static func show(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        // The library checks the slug's shape and only reads its in-memory table.
        guard let slug = ctx.parameter("slug"), let page = app.docs.page(slug: slug) else {
            throw HTTPError.notFound("There is no documentation page at this address. The index lists every page.")
        }
        return try app.web.render(DocsPageView(page: page, library: app.docs), ctx)
    }
}
