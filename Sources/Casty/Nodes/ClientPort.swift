public import CastyNet
/// A TCP port where media players, branches and browsers connect.
///
/// Each connection goes through a ``FrontDoor`` that reads its request and hands it to the ``Router``: a `GET`
/// of the stream becomes a ``Client`` of the distributor, `/status.json` and `/tree` are answered and closed,
/// anything else gets a clear refusal. Out of file descriptors, new peers are refused cleanly (and counted)
/// while everyone connected keeps listening.
public final class ClientPort: Sendable {
    /// The address actually bound (with the real port when asked for port 0).
    public let address: SocketAddress
    private let listener: Listener

    /// Starts listening on `address` for players of `distributor`'s stream.
    /// - Throws: ``SocketError`` when the address cannot be bound (for example, the port is in use).
    public init(
        distributor: Distributor, address: SocketAddress, options: ClientOptions = ClientOptions(),
        logger: EventLog = .silent
    ) throws(SocketError) {
        let context = PortContext(distributor: distributor, options: options, logger: logger)
        let listener = try FrontDoor.listen(on: address, loop: distributor.loop, port: context)
        self.listener = listener
        self.address = listener.localAddress
    }

    /// Starts listening on `address` for the requests of a port `context` describes.
    init(context: PortContext, address: SocketAddress, loop: EventLoop = .shared) throws(SocketError) {
        let listener = try FrontDoor.listen(on: address, loop: loop, port: context)
        self.listener = listener
        self.address = listener.localAddress
    }

    /// Stops taking new players; those connected stay.
    public func close() {
        let listener = listener
        listener.loop.execute { listener.close() }
    }
}
