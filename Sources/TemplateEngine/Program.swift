/// A template lowered from its node tree into one flat run of steps, made once at load.
///
/// A step holds only integers (offsets into this program's text, indices of its names, the end of
/// a section's body), so walking a template copies plain words and touches no reference count:
/// with the tree, every node visited and every name looked up was a retain and a release, the
/// largest cost of rendering a table.
final class Program: @unchecked Sendable {
    enum Step {
        /// Bytes `start..<start + count` of `text`.
        case text(start: Int, count: Int)
        /// `{{x}}` (escaped) or `{{{x}}}`; `path` indexes `paths`.
        case value(path: Int, escaped: Bool)
        /// The body is the steps after this one, up to `end`.
        case section(path: Int, end: Int)
        case inverted(path: Int, end: Int)
        /// `indent` indexes `indents`, or is -1 when the tag did not stand alone.
        case partial(template: Int, indent: Int)
        /// `{{< name}}`: the block bodies it passes are the steps after it, up to `end`;
        /// `overrides` indexes `overrideSets`.
        case parent(template: Int, overrides: Int, indent: Int, end: Int)
        /// `{{$ name}}`: `name` is a `TemplateNames` number; the default body runs up to `end`.
        case block(name: Int, end: Int)
    }

    /// A path's first name and shape, without references.
    struct Name {
        /// `first`'s `TemplateNames` number; -1 for the implicit `.`.
        let firstID: Int
        /// The path goes on past its first name (`a.b`).
        let isDotted: Bool
    }

    /// A block body passed by a parent tag: steps `start..<end` of template `template`.
    struct Override {
        let name: Int
        let template: Int
        let start: Int
        let end: Int
    }

    /// Written once in `init` and never changed: the renderer reads them through these
    /// pointers for as long as the library (which owns every program) is alive.
    let steps: UnsafeBufferPointer<Step>
    let text: UnsafeBufferPointer<UInt8>
    let paths: [NamePath]
    /// What a lookup needs of each path, as plain words beside `paths`: reading a `NamePath`
    /// (a class) cost every lookup a retain and a release.
    let names: UnsafeBufferPointer<Name>
    let indents: [[UInt8]]
    /// Each parent tag's block bodies, with `template` still unset (-1): the renderer knows
    /// which template it is running.
    let overrideSets: [[Override]]

    init(_ nodes: [Node]) {
        var builder = Builder()
        builder.lower(nodes)
        steps = Self.freeze(builder.steps)
        text = Self.freeze(builder.text)
        paths = builder.paths
        names = Self.freeze(builder.paths.map { Name(firstID: $0.isImplicit ? -1 : $0.firstID, isDotted: !$0.rest.isEmpty) })
        indents = builder.indents
        overrideSets = builder.overrideSets
    }

    deinit {
        steps.deallocate()
        text.deallocate()
        names.deallocate()
    }

    private static func freeze<Element>(_ array: [Element]) -> UnsafeBufferPointer<Element> {
        let buffer = UnsafeMutableBufferPointer<Element>.allocate(capacity: max(array.count, 1))
        _ = buffer.initialize(from: array)
        return UnsafeBufferPointer(rebasing: buffer[0..<array.count])
    }

    private struct Builder {
        var steps: [Step] = []
        var text: [UInt8] = []
        var paths: [NamePath] = []
        var indents: [[UInt8]] = []
        var overrideSets: [[Override]] = []

        mutating func lower(_ nodes: [Node]) {
            for node in nodes {
                switch node {
                case .text(let chunk):
                    let start = text.count
                    text.append(contentsOf: chunk.text.utf8)
                    steps.append(.text(start: start, count: text.count - start))
                case .value(let path, let escaped):
                    steps.append(.value(path: add(path), escaped: escaped))
                case .section(let path, let body):
                    let at = open(.section(path: add(path), end: 0))
                    lower(body)
                    steps[at] = .section(path: pathIndex(of: at), end: steps.count)
                case .inverted(let path, let body):
                    let at = open(.inverted(path: add(path), end: 0))
                    lower(body)
                    steps[at] = .inverted(path: pathIndex(of: at), end: steps.count)
                case .partial(let target, let indent):
                    steps.append(.partial(template: target, indent: add(indent)))
                case .parent(let target, let arguments, let indent):
                    let indentIndex = add(indent)
                    let setIndex = overrideSets.count
                    overrideSets.append([])
                    let at = open(.parent(template: target, overrides: setIndex, indent: indentIndex, end: 0))
                    var set: [Override] = []
                    for (name, body) in arguments.sorted(by: { $0.key < $1.key }) {
                        let start = steps.count
                        lower(body)
                        set.append(Override(name: TemplateNames.id(name), template: -1, start: start, end: steps.count))
                    }
                    overrideSets[setIndex] = set
                    steps[at] = .parent(template: target, overrides: setIndex, indent: indentIndex, end: steps.count)
                case .block(let name, let body):
                    let at = open(.block(name: TemplateNames.id(name), end: 0))
                    lower(body)
                    steps[at] = .block(name: TemplateNames.id(name), end: steps.count)
                }
            }
        }

        private mutating func open(_ step: Step) -> Int {
            steps.append(step)
            return steps.count - 1
        }

        private func pathIndex(of at: Int) -> Int {
            switch steps[at] {
            case .section(let path, _), .inverted(let path, _): return path
            default: preconditionFailure("not a section")
            }
        }

        private mutating func add(_ path: NamePath) -> Int {
            paths.append(path)
            return paths.count - 1
        }

        private mutating func add(_ indent: String?) -> Int {
            guard let indent else { return -1 }
            indents.append(Array(indent.utf8))
            return indents.count - 1
        }
    }
}
