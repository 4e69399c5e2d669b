"""A TCP echo server for the loopback benchmark, in one of three styles.

    python3 echo_server.py asyncio|gevent|threads

asyncio: asyncio streams; gevent: gevent.server.StreamServer (needs
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


def serve_asyncio():
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

    asyncio.run(main())


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
    styles = {"asyncio": serve_asyncio, "gevent": serve_gevent,
              "threads": serve_threads}
    if style not in styles:
        sys.exit(f"unknown style {style!r}: use {', '.join(styles)}")
    raise_fd_limit()
    styles[style]()


if __name__ == "__main__":
    main()
