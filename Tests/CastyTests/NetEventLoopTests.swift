@testable import CastyNet
import Testing

@testable import Casty

/// An actor that runs on an event loop instead of the cooperative pool.
actor LoopBoundRecorder {
    let loop: EventLoop
    private(set) var entries: [String] = []

    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    init(loop: EventLoop) {
        self.loop = loop
    }

    /// Records `entry` and says whether it ran on the loop thread.
    func record(_ entry: String) -> Bool {
        entries.append(entry)
        return loop.inEventLoop
    }
}

struct NetEventLoopTests {
    @Test func eventLoop_RunsExecuteWorkInOrder_OnItsThread() async {
        let loop = EventLoop(name: "test-execute")
        defer { loop.shutdown() }
        #expect(!loop.inEventLoop)
        let seen = Locked<[Int]>([])
        let onLoop = Locked(true)
        for index in 0..<1000 {
            loop.execute {
                if !loop.inEventLoop { onLoop.update { $0 = false } }
                seen.update { $0.append(index) }
            }
        }
        #expect(await eventually { seen.value.count == 1000 })
        #expect(seen.value == Array(0..<1000))
        #expect(onLoop.value)
    }

    @Test func timers_FireInDeadlineOrder_AndCanBeCancelled() async {
        let loop = EventLoop(name: "test-timers")
        defer { loop.shutdown() }
        let fired = Locked<[Int]>([])
        let start = ContinuousClock.now
        let early = Locked<Bool>(false)
        for delay in [60, 20, 40] {
            loop.schedule(after: .milliseconds(delay)) {
                if ContinuousClock.now - start < .milliseconds(delay) { early.update { $0 = true } }
                fired.update { $0.append(delay) }
            }
        }
        let cancelled = loop.schedule(after: .milliseconds(30)) { fired.update { $0.append(30) } }
        cancelled.cancel()
        #expect(cancelled.isCancelled)
        #expect(await eventually { fired.value.count >= 3 })
        try? await Task.sleep(for: .milliseconds(20))
        #expect(fired.value == [20, 40, 60])
        #expect(!early.value)
    }

    @Test func timers_WithEqualDeadlines_FireInSchedulingOrder() async {
        let loop = EventLoop(name: "test-timer-ties")
        defer { loop.shutdown() }
        let fired = Locked<[Int]>([])
        await loop.submit {
            for index in 0..<50 { loop.schedule(after: .milliseconds(5)) { fired.update { $0.append(index) } } }
        }
        #expect(await eventually { fired.value.count == 50 })
        #expect(fired.value == Array(0..<50))
    }

    @Test func actorOnLoopExecutor_IsEnteredByAwaitAndByAssumeIsolatedFromLoopCallbacks() async throws {
        let loop = EventLoop(name: "test-executor")
        defer { loop.shutdown() }
        let recorder = LoopBoundRecorder(loop: loop)

        // 1. An await from a task hops onto the loop thread.
        #expect(await recorder.record("await"))

        // 2. Work handed to the loop enters the actor synchronously.
        let fromExecute = await loop.submit { recorder.assumeIsolated { $0.record("execute") } }
        #expect(fromExecute)

        // 3. A timer callback does too.
        let fromTimer = Locked<Bool?>(nil)
        loop.schedule(after: .milliseconds(1)) {
            let onLoop = recorder.assumeIsolated { $0.record("timer") }
            fromTimer.update { $0 = onLoop }
        }
        #expect(await eventually { fromTimer.value == true })

        // 4. And so does an epoll callback: bytes read from a socket.
        let listener = try makeEchoListener(on: loop, address: .loopback(port: 0))
        let client = try await connectClient(to: listener.localAddress, on: loop)
        let fromRead = Locked<Bool?>(nil)
        await loop.submit {
            client.onRead = { _ in
                let onLoop = recorder.assumeIsolated { $0.record("read") }
                fromRead.update { $0 = onLoop }
            }
            client.write(Array("ping".utf8))
        }
        #expect(await eventually { fromRead.value == true })

        // 5. The actor's isolation is really the loop's: all entries went through it, in order.
        #expect(await recorder.entries == ["await", "execute", "timer", "read"])
        await loop.submit { client.close(); listener.close() }
    }

    @Test func eventLoop_ShutdownClosesRegisteredConnections() async throws {
        let loop = EventLoop(name: "test-shutdown")
        let listener = try makeEchoListener(on: loop, address: .loopback(port: 0))
        let client = try await connectClient(to: listener.localAddress, on: loop)
        let closed = Locked<[SocketError?]>([])
        await loop.submit { client.onClose = { error in closed.update { $0.append(error) } } }
        loop.shutdown()
        #expect(closed.value == [.closed])
        loop.shutdown()  // a second call does nothing
        loop.execute { Issue.record("work after shutdown must be dropped") }
    }
}
