/// An error that maps to an HTTP status page at the web boundary (404 for unknown ids, …).
public struct HTTPError: Error {
    public var status: Int
    public var title: String
    public var message: String

    public init(status: Int, title: String, message: String) {
        self.status = status
        self.title = title
        self.message = message
    }

    public static func notFound(_ message: String = "There is nothing at this address.") -> HTTPError {
        HTTPError(status: 404, title: "Not found", message: message)
    }

}
