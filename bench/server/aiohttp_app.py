"""aiohttp reference of the server benchmark: python3 aiohttp_app.py hello|routes|echo.

Started by bench/server/aiohttp.ts with an interpreter that has aiohttp. Speaks the runner's
protocol itself: prints {"event": "listening", "port": N, "pid": P} and exits when its stdin
closes. Plain asyncio event loop (uvloop is not installed), access log off.
"""

import asyncio
import json
import os
import sys

from aiohttp import web

STATIC_COUNT = 20
TWO_PARAM_COUNT = 79

# #region hello
async def hello(request):
    return web.Response(text="Hello World!")

hello_app = web.Application()
hello_app.router.add_get("/", hello)
# #endregion

# #region routes
def page(i):
    async def handler(request):
        return web.json_response({"page": i})
    return handler

def two_params(i):
    async def handler(request):
        m = request.match_info
        return web.json_response({"route": i, "a": m["a"], "b": m["b"]})
    return handler

async def user_post(request):
    m = request.match_info
    return web.json_response({"id": m["id"], "post": m["post"]})

routes_app = web.Application()
for i in range(STATIC_COUNT):
    routes_app.router.add_get(f"/page{i}", page(i))
for i in range(TWO_PARAM_COUNT):
    routes_app.router.add_get(f"/r{i}/{{a}}/{{b}}", two_params(i))
routes_app.router.add_get("/users/{id}/posts/{post}", user_post)
# #endregion

# #region echo
async def echo(request):
    return web.json_response(await request.json())

echo_app = web.Application()
echo_app.router.add_post("/echo", echo)
# #endregion

APPS = {"hello": hello_app, "routes": routes_app, "echo": echo_app}


async def main(app):
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(json.dumps({"event": "listening", "port": port, "pid": os.getpid()}), flush=True)
    # The runner closes our stdin to say "done" (or by dying): wait for that in a thread.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(APPS[sys.argv[1]]))
