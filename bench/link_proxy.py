#!/usr/bin/python3
"""Benchmark helper (not a test): a TCP proxy on loopback whose server-to-client
direction is capped at RATE bytes per second, shared by all its connections as
one link is, standing in for a remote server in bench/db.sh (loopback alone
moves gigabytes a second, which no link to a cluster does).
    link_proxy.py TARGET_HOST TARGET_PORT RATE_BYTES_PER_S
Prints the port it listens on (127.0.0.1), then serves until killed."""
import asyncio
import sys
import time

target_host, target_port, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
link_free_at = 0.0  # when the capped direction has sent all it was given


async def capped(n):
    """Waits until n more bytes have crossed the link at the rate."""
    global link_free_at
    now = time.monotonic()
    link_free_at = max(link_free_at, now) + n / rate
    if link_free_at > now:
        await asyncio.sleep(link_free_at - now)


async def pipe(reader, writer, cap):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if cap:
                await capped(len(data))
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def client(c_reader, c_writer):
    try:
        s_reader, s_writer = await asyncio.open_connection(target_host, target_port)
    except OSError:
        c_writer.close()
        return
    await asyncio.gather(pipe(c_reader, s_writer, False), pipe(s_reader, c_writer, True))


async def main():
    server = await asyncio.start_server(client, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
