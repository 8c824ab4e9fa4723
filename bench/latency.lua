-- wrk script for bench/latency.sh: POST /tasks at a fixed pace. Each connection waits `delay` ms
-- (wrk.delay_ms, set from the command line) before each request, so C connections send about
-- C * 1000 / delay requests per second. done() prints a BENCH line like api.lua's.

wrk.method = "POST"
wrk.body = '{"title":"latency"}'
wrk.headers["Content-Type"] = "application/json"

local pause = 10
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  pause = tonumber(args[1]) or 10
  non2xx = 0
end

function delay()
  return pause
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d non2xx=%d socket_errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, total, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
