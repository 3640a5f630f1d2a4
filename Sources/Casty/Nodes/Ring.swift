/// The most recent elements, at most `capacity` of them, oldest first: a parent's short memory of the segments
/// it sent, for the burst a new listener gets and for a branch that resumes after a failure.
struct Ring<Element>: Sequence {
    private var storage: [Element?]
    private var start = 0
    /// How many elements it holds.
    private(set) var count = 0

    init(capacity: Int) {
        storage = Array(repeating: nil, count: Swift.max(1, capacity))
    }

    /// Adds an element, forgetting the oldest when full.
    mutating func append(_ element: Element) {
        if count < storage.count {
            storage[(start + count) % storage.count] = element
            count += 1
        } else {
            storage[start] = element
            start = (start + 1) % storage.count
        }
    }

    /// The oldest element.
    var first: Element? { count == 0 ? nil : storage[start] }

    /// The newest element.
    var last: Element? { count == 0 ? nil : storage[(start + count - 1) % storage.count] }

    func makeIterator() -> AnyIterator<Element> {
        var offset = 0
        return AnyIterator { [self] in
            guard offset < count else { return nil }
            defer { offset += 1 }
            return storage[(start + offset) % storage.count]
        }
    }
}
