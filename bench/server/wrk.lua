-- wrk script of the server benchmark (bench/server/wrk-load.ts runs it).
-- The request: GET by default; WK_METHOD, WK_CONTENT_TYPE and WK_BODY (from the environment)
-- make it a POST with a body, built once: wrk sends the same bytes on every request.
-- done() prints one machine-readable line after wrk's own report, starting with "WKBENCH ".

local method = os.getenv("WK_METHOD")
if method ~= nil and method ~= "" then
  wrk.method = method
  wrk.body = os.getenv("WK_BODY")
  wrk.headers["Content-Type"] = os.getenv("WK_CONTENT_TYPE")
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WKBENCH {"requests":%d,"durationUs":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"meanUs":%.1f,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
