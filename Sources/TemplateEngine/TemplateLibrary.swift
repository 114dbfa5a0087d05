import Foundation

/// Every template of the application, parsed and checked once.
///
/// Loading parses all templates and resolves every partial and parent, so a broken
/// template fails the boot rather than a request. Rendering is thread-safe.
///
/// ```swift
/// let templates = try TemplateLibrary(directory: "Templates")
/// let html = try templates.render("deployments/index", ["title": "Deployments"])
/// ```
public final class TemplateLibrary: Sendable {
    private let templates: [CompiledTemplate]
    private let indexByName: [String: Int]
    /// A hash of every template's name and source (FNV-1a, 64 bits): the same templates give the
    /// same value in every process, so it can stand in pages' ETags for "this build's markup".
    public let fingerprint: UInt64

    /// Loads every `*.mustache` under `directory`, recursively. A template's name is its
    /// path relative to `directory` without the extension: `layout`, `partials/flash`,
    /// `deployments/index`.
    public convenience init(directory: String) throws {
        let root = URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL
        let rootPath = root.path.hasSuffix("/") ? root.path : root.path + "/"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue,
              let enumerator = FileManager.default.enumerator(
            at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [])
        else {
            throw TemplateError(template: directory, line: 0, column: 0, message: "cannot read template directory")
        }
        var sources: [String: String] = [:]
        for case let url as URL in enumerator where url.pathExtension == "mustache" {
            let path = url.standardizedFileURL.path
            guard path.hasPrefix(rootPath) else { continue }
            let name = String(path.dropFirst(rootPath.count).dropLast(".mustache".count))
            do {
                sources[name] = try String(contentsOf: url, encoding: .utf8)
            } catch {
                throw TemplateError(template: name, line: 0, column: 0, message: "cannot read \(path): \(error)")
            }
        }
        try self.init(templates: sources)
    }

    /// Parses templates given as name → source (tests, embedded templates).
    public init(templates sources: [String: String]) throws {
        let names = sources.keys.sorted()
        var indexByName: [String: Int] = [:]
        for (i, name) in names.enumerated() { indexByName[name] = i }
        var templates: [CompiledTemplate] = []
        templates.reserveCapacity(names.count)
        for name in names {
            let parser = Parser(name: name, source: sources[name]!, resolve: { indexByName[$0] })
            templates.append(try parser.parse())
        }
        self.templates = templates
        self.indexByName = indexByName
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for name in names {
            for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            hash = (hash ^ 0xff) &* 0x100_0000_01b3
            for byte in sources[name]!.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            hash = (hash ^ 0xfe) &* 0x100_0000_01b3
        }
        fingerprint = hash
    }

    /// Renders the template `name` against `context`. Throws for an unknown name or a
    /// runaway recursive partial; missing values render as nothing.
    public func render(_ name: String, _ context: TemplateValue) throws -> String {
        String(decoding: try renderBytes(name, context), as: UTF8.self)
    }

    /// `render`'s output as UTF-8 bytes, ready to be a response body without another copy.
    public func renderBytes(_ name: String, _ context: TemplateValue) throws -> [UInt8] {
        guard let index = indexByName[name] else {
            throw TemplateError(template: name, line: 0, column: 0, message: "unknown template")
        }
        let template = templates[index]
        // A page is its template's text plus the layout's and the rows': 32 KiB holds most
        // pages without the buffer growing (and copying) midway.
        var renderer = Renderer(templates: templates, context: context, capacity: max(32 * 1024, template.textBytes * 4))
        do {
            try renderer.run(index, [])
        } catch {
            renderer.out.discard()
            throw error
        }
        return renderer.out.take()
    }

    public func contains(_ name: String) -> Bool {
        indexByName[name] != nil
    }

    /// Template names, sorted.
    public var names: [String] {
        templates.map(\.name)
    }
}
