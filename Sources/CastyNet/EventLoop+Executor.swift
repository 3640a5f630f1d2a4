/// The event loop as a Swift `SerialExecutor`: actors can run on the loop thread.
///
/// Give an actor `nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }`
/// and every `await` on it runs its code on the loop, in order, one job at a time. Code that is
/// already on the loop thread (a socket callback, a timer, ``EventLoop/execute(_:)`` work) can enter
/// such an actor synchronously with `actor.assumeIsolated { ... }`.
extension EventLoop: SerialExecutor {
    /// Queues a Swift job (a piece of an actor's or a task's work) to run on the loop thread.
    public func enqueue(_ job: consuming ExecutorJob) {
        enqueueJob(UnownedJob(job))
    }

    /// The unowned reference that actors return from `unownedExecutor` to run on this loop.
    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Stops the program unless called on the loop thread. The Swift runtime calls this to check
    /// `assumeIsolated` and similar when it cannot tell by itself.
    public func checkIsolated() {
        precondition(inEventLoop, "not on the event loop thread '\(name)'")
    }

    /// Whether the current code runs on the loop thread, and so is isolated to this executor.
    public func isIsolatingCurrentContext() -> Bool? {
        inEventLoop
    }
}
