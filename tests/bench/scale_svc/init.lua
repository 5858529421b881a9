-- make bench-scale's service curves (tests/bench/run.py --scale boots
-- sigma0, lua-root.elf and an archive of the system's scripts with this
-- folder over them and a scale_config.lua saying how many services, under
-- -icount shift=0: rdtsc counts guest instructions). What watching n
-- services costs the system per second of guest time:
--
--   1. idle: the name service and n copies of services/echo.lua, each in
--      its own task (echo1 ... echon), started by this thread; no
--      supervisor;
--   2. the supervisor (a root thread at 210, as the boot plan's) takes
--      the n copies over, with the boot plan's policy for echo (restart
--      always; the defaults: asked PING every second);
--   3. the same supervisor also takes the name service over, as the boot
--      plan does (asked PING every 100 ms, hung after 400 ms).
--
-- The kernel's CPU time per thread is sampled by the 1 ms tick, and the
-- supervisor does its work just after a tick and sleeps before the next:
-- it reads 0. So a thread at priority 1 (below everything) spins reading
-- the TSC: every instruction it does not run between two of its reads is
-- another thread's, or the kernel's; a step longer than STEP is counted
-- as theirs (the timer tick's own few hundred stay below it). Over WINDOW
-- ms of guest time in each phase:
--   scale supervisor_per_s <n> <instructions>   2 minus 1: the
--       supervisor's ticks, its probes and PINGs, and the answers
--   scale names_per_s <n> <instructions>        3 minus 2: the name
--       service watched: asked PING ten times a second, its answers, and
--       the supervisor's work for one more entry; nothing else asks it
--       anything while no service starts or stops (its request count
--       over the window is printed; a PING is no request)
-- then ends QEMU (status 0).
local l4 = require "l4"
debug.sethook()         -- as the boot plan once its prompt is up (svc/init.lua)
local n = assert(math.tointeger(require("scale_config").services))
local WINDOW, STEP = 2000, 5000

local SPIN = [[
local l4 = require "l4"
local rdtsc, receive, reply = l4.debug.rdtsc, l4.receive, l4.reply
local step = ...
local other, last = 0, rdtsc()
while true do
  for _ = 1, 64 do
    local t = rdtsc()
    local d = t - last
    last = t
    if d >= step then other = other + d end
  end
  local from = receive(nil, 0)
  if from then
    reply(from, 0, other)
    other, last = 0, rdtsc()
  end
end
]]
local spinner = assert(l4.thread.create{code = SPIN, args = {STEP}, prio = 1, memcap = 1 << 20})
-- -> the others' instructions per second of guest time over WINDOW ms
local function others_per_s()
  assert(l4.call(spinner, 0))
  local t0 = l4.clock()
  l4.sleep(WINDOW)
  local _, _, other = assert(l4.call(spinner, 0))
  return math.floor(other * 1e6 / (l4.clock() - t0) + 0.5)
end

assert(l4.thread.schedule(l4.self(), 100))
local names = assert(l4.task.spawn{script = "service_task.lua", name = "names",
                                   args = {"names", "names.lua", false, false, false, n = 5},
                                   prio = 190, memcap = 4 << 20})
require("names").use(names)
l4.sys.set_names(names)
local service = require "service"
local echo = {}
for i = 1, n do
  echo[i] = assert(l4.task.spawn{script = "service_task.lua", name = "echo" .. i,
                                 args = {"echo" .. i, "services/echo.lua", names.raw, false,
                                         false, false, n = 6},
                                 prio = 100, memcap = 1 << 20})
end
for i = 1, n do assert(service.wait("echo" .. i, 60000), "echo" .. i .. " did not start") end
l4.sleep(500)
local idle = others_per_s()

local function plan(with_names)
  local services = {}
  if with_names then
    services[1] = {name = "names", script = "names.lua", id = names, restart = "always",
                   prio = 190, memcap = 4 << 20, backoff_max = 200, limit = 1000, hang = 400,
                   ping_every = 100}
  end
  for i = 1, n do
    services[#services + 1] = {name = "echo" .. i, script = "services/echo.lua", id = echo[i],
                               restart = "always", prio = 100, memcap = 1 << 20}
  end
  return assert(require("supervisor").start{names = names, prio = 210, memcap = 16 << 20,
                                            services = services})
end
local sup = plan(false)
l4.sleep(1500)          -- every copy taken over and asked once
local watched = others_per_s()
l4.thread.kill(sup)
sup = plan(true)
l4.sleep(1500)
local req0 = service.info(names).requests
local t_req = l4.clock()
local with_names = others_per_s()
local requests = service.info(names).requests - req0
local secs = (l4.clock() - t_req) / 1e6
-- a PING round trip to the name service from this thread (both sides)
local rdtsc, PING = l4.debug.rdtsc, service.PING
for _ = 1, 50 do l4.call(names, PING) end
local t0 = rdtsc()
for _ = 1, 500 do l4.call(names, PING) end
local ping = (rdtsc() - t0) // 500
for i = 1, n do
  assert(l4.task.info(echo[i]).state == "running", "echo" .. i .. " did not stay")
end
print(("scale supervisor_per_s %d %d"):format(n, watched - idle))
print(("scale names_per_s %d %d"):format(n, with_names - watched))
print(("  (services %d: instructions per second of guest time of all but the spinner: " ..
       "idle %d, supervised %d, and the name service too %d; the name service's requests " ..
       "%.1f a second; a PING round trip to it %d)"):format(n, idle, watched, with_names,
                                                             requests / secs, ping))
print("scale: done")
os.exit(0)
