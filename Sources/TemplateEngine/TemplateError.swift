/// A template that cannot be loaded or rendered.
///
/// Load-time errors carry the template name and the 1-based line and column of the
/// offending tag, so a broken template fails the boot with a message that points at it.
public struct TemplateError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The template's name, e.g. `deployments/index`.
    public var template: String
    /// 1-based; 0 when the error is not tied to a place in the source.
    public var line: Int
    /// 1-based, counted in characters; 0 when not tied to a place.
    public var column: Int
    public var message: String

    public init(template: String, line: Int, column: Int, message: String) {
        self.template = template
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        line > 0 ? "\(template):\(line):\(column): \(message)" : "\(template): \(message)"
    }
}
