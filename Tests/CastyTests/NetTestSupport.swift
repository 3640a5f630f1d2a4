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
func eventually(
    timeout: Duration = .seconds(3),
    _ condition: @Sendable () async -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
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
