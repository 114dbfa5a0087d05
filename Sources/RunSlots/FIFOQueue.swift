/// A first-in, first-out queue over one array that keeps its storage: taking from the front
/// moves an index, not the elements. It empties in one step when the last element is taken,
/// and a queue that never empties drops its taken front once that is most of the array.
/// Not synchronised: its owner locks around it.
public struct FIFOQueue<Element> {
    private var elements: [Element] = []
    private var head = 0

    public init() {}

    public var count: Int { elements.count - head }
    public var isEmpty: Bool { head == elements.count }

    public mutating func push(_ element: Element) { elements.append(element) }

    public mutating func pop() -> Element? {
        guard head < elements.count else { return nil }
        let element = elements[head]
        head += 1
        if head == elements.count {
            elements.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= elements.count {
            elements.removeSubrange(0..<head)
            head = 0
        }
        return element
    }

    /// Empties the queue; returns what was in it, in order.
    public mutating func removeAll() -> [Element] {
        let rest = Array(elements[head...])
        elements = []
        head = 0
        return rest
    }
}
