"""aiohttp reference of the client benchmark's GET case.

python3 aiohttp_client.py --port N --path P --requests N --warmup-requests N --concurrency N --bytes N

Started by bench/client/aiohttp.ts with an interpreter that has aiohttp; does what the Node
clients' driver (bench/client/gets.ts) does: --concurrency tasks each await their own request,
first the warm-up requests, then the measured ones, every answer checked (status 200, a body of
--bytes characters). Speaks the runner's protocol itself: start (with its own pid, the process
measured), end, result; then waits for its stdin to close. Plain asyncio event loop.
"""

import argparse
import asyncio
import json
import os
import sys
import time

import aiohttp


def report(event, **data):
    print(json.dumps({"event": event, **data}), flush=True)


async def run(get, url, total, concurrency, expected):
    issued = 0

    async def loop():
        nonlocal issued
        while issued < total:
            n = issued
            issued += 1
            try:
                status, body = await get(url)
            except Exception as err:
                raise RuntimeError(f"request {n} failed: {type(err).__name__}: {err}") from err
            if status != 200:
                raise RuntimeError(f"request {n}: status {status}, expected 200")
            if len(body) != expected:
                raise RuntimeError(f"request {n}: a body of {len(body)} characters, expected {expected}")

    await asyncio.gather(*(loop() for _ in range(min(concurrency, total))))


async def main(args):
    url = f"http://127.0.0.1:{args.port}{args.path}"
    # #region doc
    session = aiohttp.ClientSession()

    async def get(url):
        async with session.get(url) as response:
            return response.status, await response.text()
    # #endregion

    try:
        try:
            await run(get, url, args.warmup_requests, args.concurrency, args.bytes)
        except RuntimeError as err:
            raise RuntimeError(f"warm-up: {err}") from err
        report("start", pid=os.getpid())
        started = time.perf_counter()
        await run(get, url, args.requests, args.concurrency, args.bytes)
        seconds = time.perf_counter() - started
        report("end")
    except RuntimeError as err:
        report("result", ok=False, error=str(err))
        return 1
    finally:
        await session.close()
    detail = {
        "requests": args.requests,
        "seconds": seconds,
        "concurrency": args.concurrency,
        "warmupRequests": args.warmup_requests,
        "bytes": args.bytes,
    }
    report("result", ok=True, value=args.requests / seconds, detail=detail)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for name in ("port", "requests", "warmup-requests", "concurrency", "bytes"):
        parser.add_argument(f"--{name}", type=int, required=True)
    parser.add_argument("--path", required=True)
    code = asyncio.run(main(parser.parse_args()))
    # The runner closes our stdin to say "done"; exiting earlier could race our last line.
    sys.stdin.read()
    sys.exit(code)
