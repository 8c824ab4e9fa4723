-- wrk script for bench/latency.sh: POST /tasks at a fixed rate. Each wrk thread hands out request
-- slots every `interval` ms (args[1], fractional allowed) on the monotonic clock, and delay() makes
-- each request wait for its slot, so the rate holds however long responses take (as long as the
-- connections are enough). A thread that fell behind catches up at most 100 ms worth at once.
-- done() prints a BENCH line like api.lua's.

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } outboxd_timespec;
int clock_gettime(int clock, outboxd_timespec *tp);
]]
local timespec = ffi.new("outboxd_timespec")
local CLOCK_MONOTONIC = 1
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

wrk.method = "POST"
wrk.body = '{"title":"latency"}'
wrk.headers["Content-Type"] = "application/json"

local interval = 10
local due = nil
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  interval = tonumber(args[1]) or 10
  non2xx = 0
end

function delay()
  local now = now_ms()
  if due == nil or due < now - 100 then due = now end
  due = due + interval
  return math.max(0, math.floor(due - now))
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
