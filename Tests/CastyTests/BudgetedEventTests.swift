import Testing

@testable import Casty

/// Lines about things that may happen often: a few of every window told, the rest counted and said with the next.
struct BudgetedEventTests {
    @Test func theFirstOfEachWindowAreTold_TheRestCounted_AndSaidWithTheNextOneTold() {
        var event = BudgetedEvent(window: .seconds(10), perWindow: 2)
        let start = ContinuousClock.now
        #expect(event.occurred(at: start) == 0)
        #expect(event.occurred(at: start + .seconds(1)) == 0)
        #expect(event.occurred(at: start + .seconds(2)) == nil)
        #expect(event.occurred(at: start + .seconds(3)) == nil)
        #expect(event.occurred(at: start + .seconds(11)) == 2, "a new window: told, with the two untold before it")
        #expect(event.occurred(at: start + .seconds(12)) == 0)
        #expect(event.occurred(at: start + .seconds(13)) == nil)
    }
}
