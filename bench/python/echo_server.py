"""A TCP echo server for the loopback benchmark, in one of six styles.

    python3 echo_server.py STYLE

asyncio: asyncio streams (StreamReader/StreamWriter); asyncio-protocol: an
asyncio.Protocol, the callback interface under the streams; uvloop and
uvloop-protocol: the same two on uvloop's event loop (needs
`pip install uvloop`); gevent: gevent.server.StreamServer (needs
`pip install gevent`); threads: one threading.Thread per connection. It binds
127.0.0.1:0, prints its port as the first line on standard output, and serves
until it is killed. The load client is the Rust program `echo-client`.
"""

import resource
import socket
import sys

BUFFER = 4096


def raise_fd_limit():
    """10,000 connections need 10,000 file descriptors: lift the soft limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def announce(port):
    print(port, flush=True)


def serve_asyncio(new_loop=None):
    import asyncio

    async def echo(reader, writer):
        writer.get_extra_info("socket").setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while data := await reader.read(BUFFER):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass  # the load client went away without closing: it is done
        writer.close()

    async def main():
        server = await asyncio.start_server(echo, "127.0.0.1", 0,
                                            backlog=1024)
        announce(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    run_loop(main(), new_loop)


def run_loop(main, new_loop):
    """asyncio.run, on uvloop's loop if `new_loop` is uvloop.new_event_loop."""
    import asyncio

    if new_loop is None:
        asyncio.run(main)
    else:
        with asyncio.Runner(loop_factory=new_loop) as runner:
            runner.run(main)


def serve_asyncio_protocol(new_loop=None):
    import asyncio

    class Echo(asyncio.Protocol):
        """Echoes each chunk from the callback that receives it: no task,
        no stream objects, one transport write per chunk."""

        def connection_made(self, transport):
            transport.get_extra_info("socket").setsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.transport = transport

        def data_received(self, data):
            self.transport.write(data)

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, "127.0.0.1", 0, backlog=1024)
        announce(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    run_loop(main(), new_loop)


def serve_uvloop():
    import uvloop

    serve_asyncio(uvloop.new_event_loop)


def serve_uvloop_protocol():
    import uvloop

    serve_asyncio_protocol(uvloop.new_event_loop)


def echo_blocking(connection):
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with connection:
        try:
            while data := connection.recv(BUFFER):
                connection.sendall(data)
        except ConnectionError:
            pass  # the load client went away without closing: it is done


def serve_gevent():
    from gevent.server import StreamServer

    def handle(connection, _address):
        echo_blocking(connection)

    server = StreamServer(("127.0.0.1", 0), handle, backlog=1024)
    server.start()
    announce(server.server_port)
    server.serve_forever()


def serve_threads():
    import threading

    listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
    announce(listener.getsockname()[1])
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=echo_blocking, args=(connection,),
                         daemon=True).start()


def main():
    style = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
    styles = {"asyncio": serve_asyncio,
              "asyncio-protocol": serve_asyncio_protocol,
              "uvloop": serve_uvloop, "uvloop-protocol": serve_uvloop_protocol,
              "gevent": serve_gevent, "threads": serve_threads}
    if style not in styles:
        sys.exit(f"unknown style {style!r}: use {', '.join(styles)}")
    raise_fd_limit()
    styles[style]()


if __name__ == "__main__":
    main()
