@testable import CastyNet
import Synchronization
import Testing

@testable import Casty

/// A value shared between a test and loop callbacks, behind a mutex.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    var value: Value {
        mutex.withLock { $0 }
    }

    func update(_ body: @Sendable (inout Value) -> Void) {
        mutex.withLock { body(&$0) }
    }
}

/// Polls `condition` every few milliseconds until it holds or `timeout` passes; returns the last answer.
///
/// Time in which this poll could not run (a loaded run starves the test process for seconds: a poll of 5 ms that
/// wakes 0.1 s or more late) is added to the timeout, up to the timeout again: a condition is given `timeout` of
/// the process actually running, not of the machine being busy elsewhere.
func eventually(
    timeout: Duration = .seconds(3),
    _ condition: @Sendable () async -> Bool
) async -> Bool {
    let poll = Duration.milliseconds(5)
    var deadline = ContinuousClock.now + timeout
    var starved = Duration.zero
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        let asleep = ContinuousClock.now
        try? await Task.sleep(for: poll)
        let late = ContinuousClock.now - asleep - poll
        if late >= .milliseconds(100), starved < timeout {
            let added = min(late, timeout - starved)
            starved += added
            deadline += added
        }
    }
    return await condition()
}

/// A listener that sends back whatever it receives, with `write`.
func makeEchoListener(on loop: EventLoop, address: SocketAddress) throws -> Listener {
    try Listener(address: address, on: loop) { connection in
        connection.onRead = { [connection] bytes in connection.write(bytes) }
    }
}

/// Connects with a short timeout, so that a bug fails the test instead of hanging it.
func connectClient(to address: SocketAddress, on loop: EventLoop) async throws(SocketError) -> Connection {
    try await Connection.connect(to: address, on: loop, timeout: .seconds(2))
}

/// Reads from a raw non-blocking socket until `enough` says stop or `timeout` passes.
func drain(
    _ socket: Socket,
    into received: Locked<[UInt8]>,
    timeout: Duration = .seconds(3),
    until enough: @Sendable () -> Bool
) async {
    let deadline = ContinuousClock.now + timeout
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 1)
    defer { buffer.deallocate() }
    while ContinuousClock.now < deadline {
        do {
            let count = try socket.receive(into: buffer)
            if count == 0 { return }
            let bytes = Array(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            received.update { $0 += bytes }
        } catch .blocked {
            if enough() { return }
            try? await Task.sleep(for: .milliseconds(1))
        } catch {
            return
        }
    }
}

/// A loopback port that refuses every connection for the whole test run — an application that is down: a socket bound
/// there and never listening, never closed, so that no other test (nor anything else on the machine) can take the
/// port between its close and its use, as one bound and closed again could be taken on a busy run.
let refusingPort: UInt16 = {
    let socket = try! Socket.tcp(.ipv4)
    try! socket.bind(to: .loopback(port: 0))
    return try! socket.localAddress().port
}()
