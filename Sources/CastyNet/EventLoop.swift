internal import CCastySystem
internal import Glibc
internal import Synchronization

/// One thread that waits on epoll and runs everything that touches sockets.
///
/// The loop owns a thread of its own (a pthread, never a thread of Swift's cooperative pool, since
/// `epoll_wait` blocks). Each turn it
/// 1. waits in `epoll_wait` for ready sockets, the wake-up eventfd, or the next timer deadline;
/// 2. calls the ``EventLoopHandler`` of each ready descriptor;
/// 3. runs due timers (``schedule(after:_:)``);
/// 4. runs work handed over with ``execute(_:)`` and Swift jobs (the loop is a `SerialExecutor`).
///
/// **Level-triggered epoll.** A descriptor stays "ready" for as long as there is something to do,
/// so a handler may read one buffer per turn and leave the rest for the next turn: with thousands
/// of connections, no single busy peer can starve the others, and nothing is lost if a handler
/// stops early. The price is that interest must be precise: `writable` is only asked for while a
/// connection actually has a pending tail, otherwise every idle socket would wake the loop.
///
/// **Confinement.** Registration, handlers, ``Connection`` and ``Listener`` state belong to the loop
/// thread. From anywhere else, hop over with ``execute(_:)``, or run an actor on the loop (see
/// ``asUnownedSerialExecutor()``) and simply `await` it.
///
/// **Actors on the loop.** Because the loop is a `SerialExecutor`, an actor can choose it:
/// ```swift
/// actor Distributor {
///     let loop: EventLoop
///     nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
/// }
/// ```
/// Then a socket callback (which runs on the loop thread) may enter the actor synchronously with
/// `distributor.assumeIsolated { $0.handle(bytes) }`, with no task and no hop.
public final class EventLoop: @unchecked Sendable {
    // @unchecked Sendable: the mutable stored properties below marked "loop-confined" are read and
    // written only on the loop thread; everything shared with other threads is a Mutex or an Atomic.

    /// The name given to the loop's thread (visible in `top -H` and debuggers).
    public let name: String

    /// The shared loop for the whole process, started on first use and never shut down.
    public static let shared = EventLoop(name: "casty-loop")

    /// How many events one `epoll_wait` may return.
    static let batchSize: Int32 = 1024
    /// Size of the read scratch buffer shared by all connections of the loop.
    static let scratchSize = 64 * 1024

    private enum Work {
        case closure(@Sendable () -> Void)
        case job(UnownedJob)
    }

    private struct Inbox {
        var work: [Work] = []
        var stopped = false
    }

    private let epollFD: Int32
    private let wakeFD: Int32
    /// Work handed over from any thread. (ThreadSanitizer cannot see `Synchronization.Mutex` on
    /// Linux, which locks with raw futex calls, so it may report false races on this property.)
    private let inbox = Mutex(Inbox())
    private let wakeupPending = Atomic<Bool>(false)
    private let threadID = Atomic<UInt>(0)
    private let shutdownStarted = Atomic<Bool>(false)
    private var thread = pthread_t()

    // Loop-confined state.
    private struct Registration {
        let handler: any EventLoopHandler
        let generation: UInt32
        var interest: IOEvents
    }
    private var registrations: [Registration?] = []
    private var registrationCount = 0 {
        didSet { load.store(registrationCount, ordering: .relaxed) }
    }
    /// How many descriptors are registered, readable from any thread: how an ``EventLoopGroup`` picks the
    /// least-loaded loop.
    let load = Atomic<Int>(0)
    /// How many connections are on their way to this loop (``Connection/handOver(to:_:failed:)``), handed over and
    /// not yet registered: counted with ``load`` by an ``EventLoopGroup``, so that a storm of players handed out
    /// faster than this loop registers them is not all sent to the loop that only looks empty. Any thread.
    let incoming = Atomic<Int>(0)

    /// One connection more is on its way to this loop (``incoming``). Any thread.
    func connectionComing() { incoming.add(1, ordering: .relaxed) }

    /// A connection on its way to this loop has registered, or could not. Any thread.
    func connectionCame() { incoming.subtract(1, ordering: .relaxed) }
    private var lastGeneration: UInt32 = 0
    private var timers = TimerHeap()
    private var running = true
    private var spareWork: [Work] = []
    /// Connections closed since the allocator was last asked to give memory back, and whether that is due.
    private var closedSinceTrim = 0
    private var trimPending = false
    private let events: UnsafeMutableRawPointer
    /// A 64 KiB buffer every connection of this loop receives into before copying out exactly the
    /// bytes read. Loop-confined.
    let scratch: UnsafeMutableRawBufferPointer

    /// Creates a loop and starts its thread.
    ///
    /// Use ``shared`` in programs; make your own loops in tests, and ``shutdown()`` them when done.
    /// Creating a loop only fails when the process is out of descriptors or memory, which is a
    /// start-up condition the program cannot continue from, so it stops the program with a message.
    public init(name: String = "casty-loop") {
        self.name = name
        Socket.ignoreSIGPIPE
        assert(IOEvents.readable.rawValue == casty_epollin() && IOEvents.writable.rawValue == casty_epollout()
            && IOEvents.error.rawValue == casty_epollerr() && IOEvents.hangup.rawValue == casty_epollhup()
            && IOEvents.readHangup.rawValue == casty_epollrdhup())
        epollFD = casty_epoll_create()
        guard epollFD >= 0 else { fatalError("epoll_create1: \(SocketError.lastError("epoll_create1"))") }
        wakeFD = casty_eventfd()
        guard wakeFD >= 0 else { fatalError("eventfd: \(SocketError.lastError("eventfd"))") }
        // Generation 0 marks the wake-up descriptor.
        guard casty_epoll_ctl(epollFD, casty_epoll_ctl_add(), wakeFD, casty_epollin(), 0) == 0 else {
            fatalError("epoll_ctl(eventfd): \(SocketError.lastError("epoll_ctl"))")
        }
        events = UnsafeMutableRawPointer.allocate(
            byteCount: casty_epoll_event_size() * Int(Self.batchSize), alignment: 16)
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.scratchSize, alignment: 16)

        let retained = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { argument in
            let loop = Unmanaged<EventLoop>.fromOpaque(argument!).takeRetainedValue()
            loop.run()
            return nil
        }, retained)
        guard result == 0 else { fatalError("pthread_create: \(SocketError.fromErrno(result, "pthread_create"))") }
    }

    deinit {
        events.deallocate()
        scratch.deallocate()
    }

    /// Whether the caller is running on this loop's thread.
    public var inEventLoop: Bool {
        pthread_self() == pthread_t(threadID.load(ordering: .acquiring))
    }

    /// Stops the program if the caller is not on the loop thread. Used to guard loop-confined state.
    public func preconditionInEventLoop(file: StaticString = #fileID, line: UInt = #line) {
        precondition(inEventLoop, "must be called on the event loop thread '\(name)'", file: file, line: line)
    }

    // MARK: Handing over work

    /// Runs `work` on the loop thread, soon, in the order `execute` was called. Safe from any thread.
    ///
    /// Called from the loop thread itself, the work runs later in the same turn, never re-entrantly.
    /// After ``shutdown()`` the work is dropped.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        submit(.closure(work))
    }

    /// As ``execute(_:)``, and says whether the loop took `work`: not once it has stopped, when `work` is dropped —
    /// what a caller handing it something it must not lose (a connection) has to know.
    package func executeIfRunning(_ work: @escaping @Sendable () -> Void) -> Bool {
        submit(.closure(work))
    }

    func enqueueJob(_ job: UnownedJob) {
        submit(.job(job))
    }

    /// Queues `work`; returns whether the loop took it (not once it has stopped).
    @discardableResult
    private func submit(_ work: Work) -> Bool {
        let accepted = inbox.withLock { inbox in
            guard !inbox.stopped else { return false }
            inbox.work.append(work)
            return true
        }
        guard accepted, !inEventLoop else { return accepted }
        // Write the eventfd only once per wake-up: the loop clears the flag before draining the inbox.
        if !wakeupPending.exchange(true, ordering: .acquiringAndReleasing) {
            var one: UInt64 = 1
            _ = write(wakeFD, &one, MemoryLayout<UInt64>.size)
        }
        return true
    }

    /// Runs `work` on the loop after `delay` and returns a handle to cancel it. Safe from any thread.
    ///
    /// Timers fire in deadline order (ties in scheduling order). Resolution is one millisecond.
    @discardableResult
    public func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> Scheduled {
        let timer = Scheduled(deadline: .now + delay, work: work)
        if inEventLoop {
            timers.insert(timer)
        } else {
            execute { [self] in timers.insert(timer) }
        }
        return timer
    }

    // MARK: Registration (loop thread only)

    /// Starts watching `fd` for `interest` and calls `handler` when it is ready. Loop thread only.
    ///
    /// `error` and `hangup` are always reported, whatever the interest. The loop holds `handler`
    /// strongly until ``deregister(_:)``, which must be called before the descriptor is closed.
    package func register(_ fd: Int32, interest: IOEvents, handler: any EventLoopHandler) throws(SocketError) {
        preconditionInEventLoop()
        lastGeneration = lastGeneration == UInt32.max ? 1 : lastGeneration + 1
        let generation = lastGeneration
        guard casty_epoll_ctl(epollFD, casty_epoll_ctl_add(), fd, interest.rawValue, Self.token(fd, generation)) == 0 else {
            throw .lastError("epoll_ctl(ADD)")
        }
        let index = Int(fd)
        if index >= registrations.count {
            registrations.append(contentsOf: repeatElement(nil, count: max(index + 1 - registrations.count, 64)))
        }
        registrations[index] = Registration(handler: handler, generation: generation, interest: interest)
        registrationCount += 1
    }

    /// Changes what the loop watches `fd` for. Loop thread only. Does nothing if unchanged.
    package func reregister(_ fd: Int32, interest: IOEvents) throws(SocketError) {
        preconditionInEventLoop()
        let index = Int(fd)
        guard index < registrations.count, let registration = registrations[index] else { throw .closed }
        guard registration.interest != interest else { return }
        guard casty_epoll_ctl(epollFD, casty_epoll_ctl_mod(), fd, interest.rawValue,
                              Self.token(fd, registration.generation)) == 0 else {
            throw .lastError("epoll_ctl(MOD)")
        }
        registrations[index]!.interest = interest
    }

    /// Stops watching `fd` and releases its handler. Loop thread only. Call it before closing `fd`.
    public func deregister(_ fd: Int32) {
        preconditionInEventLoop()
        let index = Int(fd)
        guard index < registrations.count, registrations[index] != nil else { return }
        _ = casty_epoll_ctl(epollFD, casty_epoll_ctl_del(), fd, 0, 0)
        registrations[index] = nil
        registrationCount -= 1
    }

    /// How many descriptors are registered. Loop thread only.
    package var registeredCount: Int {
        preconditionInEventLoop()
        return registrationCount
    }

    /// The epoll user data: the generation in the high half tells a stale event (for a descriptor
    /// closed and reused within one batch) from a fresh one.
    private static func token(_ fd: Int32, _ generation: UInt32) -> UInt64 {
        UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    // MARK: Giving memory back

    /// Connections closed before the allocator is asked to return free memory to the system.
    static let trimAfterClosed = 1_000

    /// Called by a ``Connection`` when it closes. After a thousand closes the loop asks the C allocator, two
    /// seconds later, to return the free pages it keeps (`malloc_trim`): glibc keeps what a burst of
    /// connections freed in the loop thread's arena, so without this RSS stays at its peak after every burst
    /// although the memory is free. At most once every two seconds, whatever the churn. Loop thread only.
    func connectionClosed() {
        closedSinceTrim += 1
        guard closedSinceTrim >= Self.trimAfterClosed, !trimPending else { return }
        trimPending = true
        schedule(after: .seconds(2)) { [self] in
            trimPending = false
            closedSinceTrim = 0
            _ = casty_heap_trim()
        }
    }

    // MARK: Shutting down

    /// Stops the loop: closes what is still registered (each handler's
    /// ``EventLoopHandler/eventLoopWillStop()``), runs the work already handed over, then ends the
    /// thread and waits for it. Later ``execute(_:)`` calls are dropped.
    ///
    /// Call it from outside the loop, once nothing needs the loop any more (tasks still awaiting an
    /// actor that runs on this loop would never resume). Calling it again does nothing.
    public func shutdown() {
        precondition(!inEventLoop, "shutdown() must not be called on the loop's own thread")
        guard !shutdownStarted.exchange(true, ordering: .acquiringAndReleasing) else { return }
        execute { [self] in running = false }
        pthread_join(thread, nil)
    }

    // MARK: The loop

    private func run() {
        threadID.store(UInt(pthread_self()), ordering: .releasing)
        _ = casty_set_thread_name(name)
        while running {
            let count = casty_epoll_wait(epollFD, events, Self.batchSize, nextTimeout())
            if count < 0 {
                if errno == EINTR { continue }
                fatalError("epoll_wait: \(SocketError.lastError("epoll_wait"))")
            }
            for index in 0..<Int32(count) {
                var ready: UInt32 = 0
                var data: UInt64 = 0
                casty_epoll_event_at(events, index, &ready, &data)
                let generation = UInt32(truncatingIfNeeded: data >> 32)
                if generation == 0 {
                    drainWakeups()
                    continue
                }
                let fd = Int(UInt32(truncatingIfNeeded: data))
                guard fd < registrations.count, let registration = registrations[fd],
                      registration.generation == generation else { continue }
                registration.handler.handleEvents(IOEvents(rawValue: ready))
            }
            runDueTimers()
            runInbox()
        }
        stop()
    }

    /// Milliseconds `epoll_wait` may sleep: 0 if work is waiting, until the next timer, or forever.
    private func nextTimeout() -> Int32 {
        if inbox.withLock({ !$0.work.isEmpty }) { return 0 }
        guard let deadline = timers.nextDeadline else { return -1 }
        let remaining = ContinuousClock.now.duration(to: deadline)
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        // Round up so a timer never wakes the loop a little early and spins.
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }

    private func drainWakeups() {
        var value: UInt64 = 0
        _ = read(wakeFD, &value, MemoryLayout<UInt64>.size)
        wakeupPending.store(false, ordering: .sequentiallyConsistent)
    }

    private func runDueTimers() {
        guard !timers.isEmpty else { return }
        let now = ContinuousClock.now
        while let timer = timers.popDue(now: now) {
            timer.take()?()
        }
    }

    private func runInbox() {
        var batch = spareWork
        inbox.withLock { swap(&batch, &$0.work) }
        for work in batch { run(work) }
        batch.removeAll(keepingCapacity: true)
        spareWork = batch
    }

    private func run(_ work: Work) {
        switch work {
        case .closure(let closure): closure()
        case .job(let job): job.runSynchronously(on: asUnownedSerialExecutor())
        }
    }

    private func stop() {
        for registration in registrations {
            registration?.handler.eventLoopWillStop()
        }
        // Run what is left, including work queued by the handlers above, then refuse more.
        while true {
            let batch = inbox.withLock { inbox in
                let batch = inbox.work
                inbox.work = []
                if batch.isEmpty { inbox.stopped = true }
                return batch
            }
            if batch.isEmpty { break }
            for work in batch { run(work) }
        }
        for index in registrations.indices where registrations[index] != nil {
            deregister(Int32(index))
        }
        timers.removeAll()
        _ = close(wakeFD)
        _ = close(epollFD)
    }
}

extension EventLoop {
    /// Runs `body` on the loop thread and returns its result to the awaiting caller.
    ///
    /// The convenient way to use loop-confined objects (``Connection``, ``Listener``) from a task:
    /// `let result = await loop.submit { connection.offer(segment) }`. Do not call it from the loop
    /// thread while blocking it (awaiting from an actor on the loop is fine).
    public func submit<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            execute { continuation.resume(returning: body()) }
        }
    }
}
