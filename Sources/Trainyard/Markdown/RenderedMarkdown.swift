/// HTML produced from Markdown, with the outline needed for a table of contents.
public struct RenderedMarkdown: Sendable, Equatable {
    /// One heading of the document, in order.
    public struct Heading: Sendable, Equatable {
        /// 1 for `#`, up to 6.
        public var level: Int
        /// The heading's plain text (markup removed).
        public var text: String
        /// The `id` attribute given to the heading: a slug of the text, unique in the document.
        public var id: String

        public init(level: Int, text: String, id: String) {
            self.level = level
            self.text = text
            self.id = id
        }
    }

    /// Safe HTML: raw HTML is omitted and link and image URLs with active schemes are blanked.
    public var html: String
    public var headings: [Heading]
    /// The text of the first level-1 heading, for the page title.
    public var title: String?

    public init(html: String, headings: [Heading], title: String?) {
        self.html = html
        self.headings = headings
        self.title = title
    }
}
