@testable import CastyNet
@testable import CastyWire
import Glibc
import Testing

@testable import Casty

struct NetConnectionTests {
    @Test(arguments: [SocketAddress.Family.ipv4, .ipv6])
    func connection_EchoesBytes_OverLoopback(family: SocketAddress.Family) async throws {
        let loop = EventLoop(name: "test-echo")
        defer { loop.shutdown() }
        let listener = try makeEchoListener(on: loop, address: .loopback(family, port: 0))
        #expect(listener.localAddress.family == family && listener.localAddress.port != 0)
        let client = try await connectClient(to: listener.localAddress, on: loop)
        #expect(client.remoteAddress == listener.localAddress)

        // Large enough that both sides keep tails and go through EPOLLOUT.
        let message = (0..<(512 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        let received = Locked<[UInt8]>([])
        await loop.submit {
            client.onRead = { bytes in received.update { $0 += bytes } }
            client.write(message)
        }
        #expect(await eventually { received.value.count >= message.count })
        #expect(received.value == message)
        await loop.submit { client.close(); listener.close() }
    }

    @Test func listener_AcceptsManyConnections() async throws {
        let loop = EventLoop(name: "test-many")
        defer { loop.shutdown() }
        let accepted = Locked(0)
        let listener = try Listener(address: .loopback(port: 0), on: loop) { _ in accepted.update { $0 += 1 } }
        let count = 300
        let clients = try await withThrowingTaskGroup(of: Connection.self) { group in
            for _ in 0..<count {
                group.addTask { try await connectClient(to: listener.localAddress, on: loop) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(clients.count == count)
        #expect(await eventually { accepted.value == count })
        #expect(await loop.submit { listener.acceptedCount } == count)
        await loop.submit { for client in clients { client.close() }; listener.close() }
    }

    @Test func listener_ThrowsAddressInUse_WhenPortIsTaken() async throws {
        let loop = EventLoop(name: "test-inuse")
        defer { loop.shutdown() }
        let first = try Listener(address: .loopback(port: 0), on: loop) { _ in }
        let error = #expect(throws: SocketError.self) {
            _ = try Listener(address: first.localAddress, on: loop) { _ in }
        }
        let text = error?.description ?? ""
        #expect(text.contains("address already in use"))
        #expect(text.contains("\(first.localAddress)"))
        await loop.submit { first.close() }
    }

    @Test func connect_FailsWithConnectionRefused_WhenNothingListens() async throws {
        let loop = EventLoop(name: "test-refused")
        defer { loop.shutdown() }
        // A socket bound but not listening: its port refuses connections and stays ours (a closed listener's port
        // could be handed at once to another test's listener, running in parallel).
        let bound = try Socket.tcp(.ipv4)
        defer { bound.close() }
        try bound.bind(to: .loopback(port: 0))
        let address = try bound.localAddress()
        do {
            _ = try await connectClient(to: address, on: loop)
            Issue.record("connect to a closed port succeeded")
        } catch {
            #expect(error.description.contains("connection refused"))
            #expect(error.description.contains("\(address)"))
            #expect(error.errno == 111)
        }
    }

    /// A listening socket that never accepts, with the shortest queue, already holding what it takes: the kernel
    /// drops further SYNs, so a connect to `address` hangs. Close `sockets` when done.
    func unansweredAddress() async throws -> (address: SocketAddress, sockets: [Socket]) {
        let server = try Socket.tcp(.ipv4)
        try server.bind(to: .loopback(port: 0))
        try server.listen(backlog: 0)
        let address = try server.localAddress()
        var sockets = [server]
        for _ in 0..<2 {
            let filler = try Socket.tcp(.ipv4)
            sockets.append(filler)
            _ = try filler.connect(to: address)
        }
        try await Task.sleep(for: .milliseconds(20))
        return (address, sockets)
    }

    @Test func connect_TimesOut_WhenTheListenQueueIsFull() async throws {
        let loop = EventLoop(name: "test-timeout")
        defer { loop.shutdown() }
        let (address, sockets) = try await unansweredAddress()
        defer { for socket in sockets { socket.close() } }
        let start = ContinuousClock.now
        do {
            _ = try await Connection.connect(to: address, on: loop, timeout: .milliseconds(200))
            Issue.record("connect to a full listen queue succeeded")
        } catch {
            #expect(error == .fromErrno(ETIMEDOUT, "connect to \(address)"), "named as a connect that failed")
            #expect("\(error)" == "connect to \(address) failed: connection timed out (errno \(ETIMEDOUT))")
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(190) && elapsed < .seconds(2))
    }

    @Test func anApplicationsAddresses_ShareOneTimeout_NotOneEach() async throws {
        let loop = EventLoop(name: "test-deadline")
        defer { loop.shutdown() }
        let (address, sockets) = try await unansweredAddress()
        defer { for socket in sockets { socket.close() } }
        // Four addresses that never answer, 600 ms in all: not 2.4 s.
        let url = StreamURL(host: "app.internal", port: address.port, path: "/verify")
        let start = ContinuousClock.now
        do {
            _ = try await Upstream.connect(url, to: Array(repeating: address, count: 4), loop: loop, deadline: start + .milliseconds(600))
            Issue.record("connect to a full listen queue succeeded")
        } catch {
            #expect("\(error)".contains("timed out"), "\(error)")
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(590) && elapsed < .milliseconds(1500), "\(elapsed)")
    }

    @Test func connection_ReportsCloseOnce_WhenPeerResets() async throws {
        let loop = EventLoop(name: "test-reset")
        defer { loop.shutdown() }
        let closes = Locked<[SocketError?]>([])
        let listener = try Listener(address: .loopback(port: 0), on: loop) { connection in
            connection.onRead = { _ in }
            connection.onClose = { error in closes.update { $0.append(error) } }
        }
        let peer = try Socket.tcp(.ipv4)
        _ = try peer.connect(to: listener.localAddress)
        #expect(await eventually { await loop.submit { listener.acceptedCount } == 1 })
        try peer.setResetOnClose()
        peer.close()
        #expect(await eventually { closes.value.count == 1 })
        try await Task.sleep(for: .milliseconds(50))
        #expect(closes.value.count == 1)
        #expect(closes.value.first??.errno == 104)  // ECONNRESET
        await loop.submit { listener.close() }
    }

    @Test func connection_ReportsEndOfStream_WhenPeerClosesGracefully() async throws {
        let loop = EventLoop(name: "test-eof")
        defer { loop.shutdown() }
        let events = Locked<[String]>([])
        let listener = try Listener(address: .loopback(port: 0), on: loop) { connection in
            connection.onRead = { bytes in events.update { $0.append(String(decoding: bytes, as: UTF8.self)) } }
            connection.onClose = { error in events.update { $0.append("closed \(error == nil)") } }
        }
        let client = try await connectClient(to: listener.localAddress, on: loop)
        await loop.submit { client.write(Array("bye".utf8)); client.close() }
        #expect(await eventually { events.value.count == 2 })
        #expect(events.value == ["bye", "closed true"])
        await loop.submit { listener.close() }
    }

    @Test func connection_CallsOnCloseOnce_WhenClosedLocally() async throws {
        let loop = EventLoop(name: "test-close")
        defer { loop.shutdown() }
        let listener = try makeEchoListener(on: loop, address: .loopback(port: 0))
        let client = try await connectClient(to: listener.localAddress, on: loop)
        let calls = Locked(0)
        let late = Locked(0)
        let results = await loop.submit {
            client.onClose = { error in calls.update { $0 += error == nil ? 1 : 100 } }
            client.close()
            client.close()
            client.onClose = { _ in late.update { $0 += 1 } }  // the close was already reported
            return (client.isClosed, client.write([1]), client.offer([1]))
        }
        #expect(calls.value == 1)
        #expect(late.value == 0)
        #expect(results.0 && !results.1 && results.2 == .closed)
        // Only the listener stays registered: the echo side closes on end of stream.
        #expect(await eventually { await loop.submit { loop.registeredCount } == 1 })
        await loop.submit { listener.close() }
    }

    @Test func listener_RefusesCleanly_WhenOutOfDescriptors_AndKeepsServing() async throws {
        // Running out of descriptors for real would need a lower RLIMIT_NOFILE, which is process
        // wide and would break tests running in parallel; the listener's test hook makes the next
        // accept fail with EMFILE instead, and the real recovery path (spare descriptor) runs.
        let loop = EventLoop(name: "test-emfile")
        defer { loop.shutdown() }
        let refusals = Locked<[SocketError]>([])
        let listener = try makeEchoListener(on: loop, address: .loopback(port: 0))
        await loop.submit {
            listener.onRefuse = { error in refusals.update { $0.append(error) } }
            listener.simulatedDescriptorFailures = 1
        }
        let refused = try await connectClient(to: listener.localAddress, on: loop)
        let refusedClosed = Locked(false)
        await loop.submit {
            refused.onRead = { _ in }
            refused.onClose = { _ in refusedClosed.update { $0 = true } }
        }
        #expect(await eventually { refusedClosed.value })
        #expect(refusals.value == [.outOfDescriptors])

        let served = try await connectClient(to: listener.localAddress, on: loop)
        let echoed = Locked<[UInt8]>([])
        await loop.submit {
            served.onRead = { bytes in echoed.update { $0 += bytes } }
            served.write(Array("still here".utf8))
        }
        #expect(await eventually { echoed.value == Array("still here".utf8) })
        let counts = await loop.submit { (listener.refusedCount, listener.acceptedCount) }
        #expect(counts == (1, 1))
        await loop.submit { served.close(); listener.close() }
    }
}

extension NetConnectionTests {
    @Test("Out of descriptors, a newcomer is admitted in the place of a connection onShortage closes, not refused")
    func listener_AdmitsANewcomerInThePlaceOfOneClosed_WhenOutOfDescriptors() async throws {
        let loop = EventLoop(name: "test-shortage")
        defer { loop.shutdown() }
        let accepted = Locked<[Connection]>([])
        let refusals = Locked<[SocketError]>([])
        let listener = try Listener(address: .loopback(port: 0), on: loop) { connection in
            connection.onRead = { [connection] bytes in connection.write(bytes) }
            accepted.update { $0.append(connection) }
        }
        let idle = try await connectClient(to: listener.localAddress, on: loop)
        let idleClosed = Locked(false)
        await loop.submit {
            idle.onRead = { _ in }
            idle.onClose = { _ in idleClosed.update { $0 = true } }
        }
        #expect(await eventually { accepted.value.count == 1 })
        await loop.submit {
            listener.onRefuse = { error in refusals.update { $0.append(error) } }
            // The one waiting is let go of to make room.
            listener.onShortage = { accepted.value.first?.close(); return true }
            listener.simulatedDescriptorFailures = 1
        }
        let newcomer = try await connectClient(to: listener.localAddress, on: loop)
        let echoed = Locked<[UInt8]>([])
        await loop.submit {
            newcomer.onRead = { bytes in echoed.update { $0 += bytes } }
            newcomer.write(Array("admitted".utf8))
        }
        #expect(await eventually { echoed.value == Array("admitted".utf8) })
        #expect(await eventually { idleClosed.value })
        #expect(refusals.value.isEmpty)
        let counts = await loop.submit { (listener.refusedCount, listener.acceptedCount) }
        #expect(counts == (0, 2))
        await loop.submit { newcomer.close(); listener.close() }
    }

    @Test func connection_ReportsEarlierClose_WhenOnCloseIsSetLate() async throws {
        let loop = EventLoop(name: "test-late-close")
        defer { loop.shutdown() }
        let listener = try makeEchoListener(on: loop, address: .loopback(port: 0))
        let client = try await connectClient(to: listener.localAddress, on: loop)
        let reported = Locked<[SocketError?]>([])
        await loop.submit {
            client.close()
            client.onClose = { error in reported.update { $0.append(error) } }
        }
        #expect(reported.value.count == 1)
        #expect(reported.value.first == .some(nil))
        await loop.submit { listener.close() }
    }
}
