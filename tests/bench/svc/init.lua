-- The service benchmarks of `make bench` (tests/bench/run.py boots sigma0,
-- lua-root.elf and build/tests/bench/svc-bench.arc, the system's scripts
-- with this folder over them, under -icount shift=0: rdtsc counts guest
-- instructions). The name service and, under the supervisor, the example
-- service services/echo.lua at the boot plan's priority (100); then:
--   service_call_rtt     service.call("echo", 1, i) from this root's Lua
--                        thread: the client framework, the echo service's
--                        request loop and handler, and back
--   service_requests_per_client_<n>  n client tasks (1, 4, 16, 64; client.lua)
--                        calling echo at once: guest instructions per
--                        request (all of the system's, from the first to
--                        the last request, over all requests)
--   reload_to_first_reply  service.reload("echo", its source) followed by a
--                        service.call: from the reload request to the new
--                        version's first reply (the supervisor told, as
--                        `reload echo` at the REPL does)
--   reload_pause_p99     a client task's 99th percentile request latency
--                        while this thread reloads echo back to back (an
--                        indented line gives it without reloads, and the
--                        ratio)
-- Prints "bench <name> <instructions>" and ends QEMU (status 0).
local l4 = require "l4"
local rdtsc = l4.debug.rdtsc
-- The root's main thread runs with the boot plan's deadline hook (a count
-- hook, runtime/lua/main.c) until the plan clears it, as init.lua does
-- once the prompt is up: a hooked state runs every Lua instruction
-- through the hook's check, several times slower. Cleared first.
debug.sethook()
local names = assert(l4.task.spawn{script = "service_task.lua", name = "names",
                                   args = {"names", "names.lua", false, false, false, n = 5},
                                   prio = 190, memcap = 4 << 20})
require("names").use(names)
l4.sys.set_names(names)
assert(require("supervisor").start{names = names, prio = 210, services = {
  {name = "echo", script = "services/echo.lua", restart = "always", prio = 100,
   memcap = 4 << 20},
}})
local service = require "service"
-- this thread at the REPL's priority (docs/lua-api.md), as a user's calls
assert(l4.thread.schedule(l4.self(), 100))
assert(service.wait("echo", 10000))
local ECHO = 1
local me = l4.self()

-- 1. one client: this root thread
do
  local call = service.call
  for i = 1, 200 do assert(call("echo", ECHO, i)) end
  local N = 10000
  local t0 = rdtsc()
  for i = 1, N do
    local _, x = call("echo", ECHO, i)
    if x ~= i then error("bad reply") end
  end
  print(("bench service_call_rtt %d"):format((rdtsc() - t0) // N))
end

-- Client tasks (client.lua) call READY, wait for this thread's answer (the
-- start), make their requests and call DONE with their figures; busy, if
-- given, runs while no DONE is there yet.
local READY, DONE = 0x51, 0x52
local function gather(n, label, busy)
  local got = {}
  while #got < n do
    local f, l, a, b
    if busy then
      f, l, a, b = l4.receive(nil, 0)
      if not f then busy() end
    else
      f, l, a, b = l4.receive()
    end
    if f and l == label then got[#got + 1] = {f, a, b} end
  end
  return got
end
-- -> instructions from the start to the last DONE, the DONEs' values
local function clients(n, mode, rounds, busy)
  local tasks = {}
  for i = 1, n do
    tasks[i] = assert(l4.task.spawn{script = "client.lua", prio = 100, memcap = 2 << 20,
                                    args = {mode, me.raw, rounds}})
  end
  local ready = gather(n, READY)
  local t0 = rdtsc()
  for _, r in ipairs(ready) do l4.reply(r[1], 0) end
  local done = gather(n, DONE, busy)
  local t = rdtsc() - t0
  for _, r in ipairs(done) do l4.reply(r[1], 0) end
  for _, task in ipairs(tasks) do
    local how, st = l4.task.wait(task, 60000)
    assert(how == "exited" and st == 0, ("client: %s %s"):format(how, st))
  end
  return t, done
end

-- 2. n clients at once, 10,240 requests in all
for _, n in ipairs{1, 4, 16, 64} do
  local rounds = 10240 // n
  local t = clients(n, "calls", rounds)
  print(("bench service_requests_per_client_%d %d"):format(n, t // (n * rounds)))
end

-- 3. a reload, then the new version's first reply
local source = assert(service.read_source("services/echo.lua"))
local function reload()
  local v, err = service.reload("echo", source, "@services/echo.lua")
  if not v then error("reload: " .. tostring(err)) end
end
do
  local call = service.call
  for _ = 1, 5 do reload(); assert(call("echo", ECHO, 1)) end
  local N = 500
  local t0 = rdtsc()
  for i = 1, N do
    reload()
    local _, x = call("echo", ECHO, i)
    if x ~= i then error("bad reply") end
  end
  print(("bench reload_to_first_reply %d"):format((rdtsc() - t0) // N))
  -- its parts: the RELOAD request alone (echo compiles, migrates, swaps),
  -- and the supervisor told of the new source (it keeps it in the store)
  local id = assert(require("names").lookup("echo"))
  local sup = assert(require("names").lookup("supervisor"))
  local RELOADED = require("supervisor").RELOADED
  local M, gen = 100, nil
  t0 = rdtsc()
  for _ = 1, M do
    local _, label, g = l4.call(id, service.RELOAD, source, "@services/echo.lua")
    assert(label == service.OK, g)
    gen = g
  end
  local compile = (rdtsc() - t0) // M
  t0 = rdtsc()
  for _ = 1, M do
    assert(l4.call(sup, RELOADED, gen, "echo", source, "@services/echo.lua"))
  end
  print(("  (of which the RELOAD request alone %d, the supervisor told %d)"):format(compile,
        (rdtsc() - t0) // M))
end

-- 4. a client's p99 latency without, then with back-to-back reloads from
-- this thread (client.lua "latency": 2,000 requests, their p99 in DONE)
local _, steady = clients(1, "latency", 2000)
local reloads = 0
local _, busy = clients(1, "latency", 2000, function() reload(); reloads = reloads + 1 end)
local s99, r99 = steady[1][2], busy[1][2]
print(("bench reload_pause_p99 %d"):format(r99))
print(("  (p99 without reloads %d, median %d; with %d reloads during the 2,000 requests: " ..
       "median %d; ratio %.1f)"):format(s99, steady[1][3], reloads, busy[1][3], r99 / s99))
print("bench: done")
os.exit(0)
