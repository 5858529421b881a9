-- The network benchmarks of `make bench` (tests/bench/run.py boots sigma0,
-- lua-root.elf and build/tests/bench/net-bench.arc, the system's scripts
-- with this folder over them, with a virtio-net card on QEMU's user
-- network, under -icount shift=0,sleep=on: a busy guest instruction is
-- 1 ns of guest time, and an idle guest's clock follows the host's, so
-- the host's answers do not make lwIP's timers fire early). The plan's
-- network entries under a supervisor, as tests/net/init.lua starts them;
-- then a server on port 23 that the runner connects to through QEMU's
-- forward, and that does what the runner's lines say:
--   RTT n   n round trips of 64 bytes (the runner sends, this echoes)
--   IN n    n bytes from the runner, read and dropped; answers "DONE"
--   OUT n   n bytes to the runner
--   HTTP n  answers "GO" and waits for the runner's "DONE", while the
--           runner makes n HTTP requests to port 80, one connection each
--           (http_bench.lua: httpd.lua and a small handler, in a task)
--   END     ends QEMU (status 0)
-- Each prints "bench <name> <instructions>": the CPU time every thread of
-- the system spent in it (the kernel charges each 1 ms timer tick to the
-- thread it interrupts; the idle time waiting for the host is nobody's),
-- in instructions (1 ms = 1,000,000 of them), per request or per MiB:
--   tcp_rtt_host_guest  a 64-byte request and its answer, this server
--                       included (its receive and send through socket.lua)
--   tcp_stream_mib_in / tcp_stream_mib_out   a MiB host to guest / guest to host
--   http_requests       an HTTP GET and its answer on a connection of its
--                       own: the connection, the server's task, its handler
local l4 = require "l4"
local names = assert(l4.task.spawn{script = "service_task.lua", name = "names",
                                   args = {"names", "names.lua", false, false, false, n = 5},
                                   prio = 190, memcap = 4 << 20})
require("names").use(names)
l4.sys.set_names(names)
assert(require("supervisor").start{names = names, prio = 210, services = {
  {name = "devices", script = "devmgr.lua", thread = true, restart = "always",
   prio = 175, memcap = 4 << 20},
  {name = "net0", script = "virtio_net.lua", args = {"net0"}, ping = 1,
   restart = "on-failure", prio = 160, memcap = 8 << 20},
  {name = "net", script = "net.lua", args = {"net0"}, ping = 1,
   restart = "always", prio = 155, memcap = 32 << 20},
}})
local socket = require "socket"
for _ = 1, 3000 do
  local s = socket.status()
  if s and s.up then break end
  l4.sleep(10)
end

local function cpu_ms()
  local sum = 0
  for _, t in ipairs(l4.sys.threads()) do sum = sum + t.cpu_ms end
  return sum
end

local function report(name, ms, per, unit)
  print(("bench %s %d"):format(name, ms * 1000000 // per))
  print(("  %s: %d ms of CPU for %d %s"):format(name, ms, per, unit))
end

-- the HTTP server's task; its sockets are its own (net.lua)
assert(l4.task.spawn{script = "http_bench.lua", name = "http_bench", prio = 90,
                     memcap = 16 << 20})

local s = assert(socket.bind("*", 23))
local c
repeat                          -- QEMU's early connections may come closed
  c = assert(s:accept())
  if not c:send("L4UA BENCH\n") then c:close(); c = nil end
until c
while true do
  local line = assert(c:receive())
  local cmd, n = line:match("^(%u+) ?(%d*)$")
  n = tonumber(n)
  if cmd == "RTT" then
    local t0 = cpu_ms()
    for _ = 1, n do assert(c:send(assert(c:receive(64)))) end
    report("tcp_rtt_host_guest", cpu_ms() - t0, n, "round trips")
  elseif cmd == "IN" then
    local t0, left = cpu_ms(), n
    while left > 0 do
      local got = assert(c:receive(math.min(left, 60 << 10)))
      left = left - #got
    end
    report("tcp_stream_mib_in", cpu_ms() - t0, n >> 20, "MiB")
    assert(c:send("DONE\n"))
  elseif cmd == "OUT" then
    local block = ("x"):rep(60 << 10)
    local t0, left = cpu_ms(), n
    while left > 0 do
      local k = math.min(left, #block)
      assert(c:send(block, 1, k))
      left = left - k
    end
    report("tcp_stream_mib_out", cpu_ms() - t0, n >> 20, "MiB")
  elseif cmd == "HTTP" then
    local t0 = cpu_ms()
    assert(c:send("GO\n"))
    assert(c:receive() == "DONE")
    report("http_requests", cpu_ms() - t0, n, "requests")
  else
    break
  end
end
c:close()
os.exit(0)
