"""python websockets reference of the ws benchmark: python3 websockets_app.py echo|broadcast [--memory].

Started by bench/ws/websockets.ts with an interpreter that has websockets (Debian's
python3-websockets). Speaks the runner's protocol itself: prints {"event": "listening", "port":
N, "pid": P} (and "control": C with --memory) and exits when its stdin closes. Plain asyncio
event loop (uvloop is not installed), websockets' defaults otherwise.
"""

import asyncio
import gc
import json
import os
import sys

import websockets

# #region echo
async def echo(websocket):
    async for message in websocket:
        await websocket.send(message)
# #endregion

# #region broadcast
CLIENTS = set()

async def relay(websocket):
    CLIENTS.add(websocket)
    try:
        async for message in websocket:
            websockets.broadcast((c for c in CLIENTS if c is not websocket), message)
    finally:
        CLIENTS.remove(websocket)
# #endregion

HANDLERS = {"echo": echo, "broadcast": relay}


def rss_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


async def memory_probe(reader, writer):
    """Each line read is answered with {"rss": N, "heapUsed": null} after a full collection."""
    while await reader.readline():
        gc.collect()
        writer.write((json.dumps({"rss": rss_bytes(), "heapUsed": None}) + "\n").encode())
        await writer.drain()
    writer.close()


async def main(handler, memory):
    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        event = {"event": "listening", "port": port, "pid": os.getpid()}
        if memory:
            probe = await asyncio.start_server(memory_probe, "127.0.0.1", 0)
            event["control"] = probe.sockets[0].getsockname()[1]
        print(json.dumps(event), flush=True)
        # The runner closes our stdin to say "done" (or by dying): wait for that in a thread.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main(HANDLERS[sys.argv[1]], "--memory" in sys.argv))
