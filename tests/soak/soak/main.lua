-- make soak (docs/reliability.md "Soak"): weeks of use in minutes. The
-- archive is the real system's (scripts/, drivers-lua/, shell/, with
-- scripts/init.lua packed as system-init.lua) plus tests/soak/; the
-- soak's init.lua runs this file. It boots the system's plan in a thread
-- of the root, as make run would, then, while four client tasks call
-- services all the while (soak/client.lua), runs ROUNDS rounds, each:
--
--   10 task spawns (soak/job.lua): one creates THREADS Lua threads, the
--      others each call echo once; each must end with os.exit(0)
--   10 reloads of echo through the service framework's RELOAD (what the
--      REPL's `reload` does), each a new version that must take over
--   1 kill or crash of a component picked at random (soak/kinds.lua),
--      which must be back under its name, answering, within PROMISE_MS
--      (1 s), or within BACK_MS if its supervisor gave up on it (its
--      limit of restarts) and the soak sent RESTART, as a person would,
--      or if it is restarted after the supervisor's default back-off
--      (soak/kinds.lua: `backoff`)
--
-- At the end every client request must have had exactly one answer of
-- its own or a clear error, and these must be back within 1% (of each
-- one's size) of where they were after the warm-up rounds (WARMUP),
-- with as many threads: the kernel pool in use (l4.sys.kmem), the pages
-- of the root's pool (l4.task.stats) that no task holds, and the RAM in
-- sigma0 or in the root's pool (sigma0's free RAM: L4_SIGMA0_FREE), that
-- is what any task can have again. The pages the tasks that live through
-- the run hold (their heaps grow to a working size) are printed. It
-- prints every figure, then "soak: PASS" or "soak: FAIL" and ends QEMU
-- with the status. soak_config.lua (packed by the Makefile) gives the scale:
-- 1/scale of the full figures (make soak: 1; make test: 20).
local l4 = require "l4"
local service = require "service"
local names = require "names"
local supervisor = require "supervisor"
local files = require "files"
local console = require "console"
local kinds = require "soak.kinds"
local config = require "soak_config"

local FULL_ROUNDS = 1000
local ROUNDS = math.max(1, FULL_ROUNDS // config.scale)
local THREADS = 100             -- Lua threads a round (in one task)
-- Lua threads the driver itself creates in the root each round, besides
-- the task's (an ended root thread's lthread serves a later one,
-- docs/runtime.md "Threads"): 0, as each new root state's peak stays in
-- the root's heap, which gives nothing back (docs/reliability.md "Soak").
local ROOT_THREADS = 0
local CALLERS = 9               -- the round's other spawns
local RELOADS = 10
local CLIENTS = 4
local BACK_MS = 10000           -- guest ms a component has to come back at all
-- Issue 14's promise: each part is back within 1 s of guest time after
-- a kill or a crash, unless its supervisor gave up on it (its limit of
-- restarts: back only when the soak, as a person would, sends RESTART).
local PROMISE_MS = 1000
local TOLERANCE = 0.01          -- of the resource's size
-- The figures are compared from the end of this round on: the first
-- rounds grow the root's pool (kept for reuse) and the Lua heaps of the
-- tasks that live through the run (to their working size).
local WARMUP = math.max(1, ROUNDS // 5)
-- sigma0's request "how much RAM is free" (include/l4/abi.h
-- L4_SIGMA0_FREE; docs/memory.md): -> 0, L4_SIGMA0_OK, frames.
local SIGMA0_FREE = 4
local HEAP_BLOCK = 4 << 20      -- the root heap's step: L4_SIGMA0_ANY_MAX (runtime/lua/mem.c)
local VICTIM_PORT = 0x2e8       -- COM4's first port: no one uses it
local STATS, STOP = 1, 2        -- soak/client.lua

math.randomseed(config.seed or 14)

local problems = {}
local function problem(fmt, ...)
  local text = fmt:format(...)
  problems[#problems + 1] = text
  print("soak: PROBLEM: " .. text)
end

local function say(fmt, ...) print(("soak: " .. fmt):format(...)) end
local function now_ms() return l4.clock() // 1000 end
local function group(n)                -- 1234567 -> "1,234,567"
  local s = tostring(n)
  repeat local k; s, k = s:gsub("^(-?%d+)(%d%d%d)", "%1,%2") until k == 0
  return s
end

-- Waits until fn() is true (every 10 ms), at most ms.
local function wait_for(ms, fn)
  local deadline = l4.clock() + ms * 1000
  repeat
    if fn() then return true end
    l4.sleep(10)
  until l4.clock() > deadline
  return fn()
end

---------------------------------------------------------------------------
-- The system: scripts/init.lua in a thread (it never returns: its guard).
local t_boot = l4.clock()
assert(l4.thread.create{script = "system-init.lua"})
for _, n in ipairs{"echo", "supervisor", "sched"} do
  assert(service.wait(n, 30000), n .. " did not come up")
end
local names_id = assert(names.server())
assert(wait_for(5000, function() return names.lookup("pager") ~= nil end), "no pager")
say("the system is up after %d ms of guest time", (l4.clock() - t_boot) // 1000)

---------------------------------------------------------------------------
-- Memory: the three figures the soak must give back.
local function measure()
  collectgarbage()
  collectgarbage()
  local kbytes, ksize = l4.sys.kmem()
  local threads = l4.sys.threads()
  local st = l4.task.stats()
  local from, label, code, frames = l4.call(l4.kip.sigma0, {timeout = 1000}, SIGMA0_FREE)
  assert(from and label == 0 and code == l4.E.sigma0.ok, "sigma0 does not answer L4_SIGMA0_FREE")
  local pages, held = {}, 0
  for _, t in ipairs(l4.task.list()) do
    pages[t.name or tostring(t.id)] = t.pages
    held = held + t.pages
  end
  local heap_mapped, _, arena_held, arena_spare = l4.sys.heap()
  return {kmem = kbytes, kmem_size = ksize, pool = (st.pool - st.free) * 4096,
          -- no owner: neither a task's nor the root's arena chunks'
          lost = (st.pool - st.free - st.arenas - held) * 4096, pool_size = st.pool * 4096,
          sigma0 = frames * 4096, free_ram = (frames + st.pool) * 4096,
          root_heap = heap_mapped, arena_held = arena_held, arena_spare = arena_spare,
          free_ram_heap = (frames + st.pool) * 4096 + heap_mapped,
          tasks = st.tasks,
          threads = #threads, thread_list = threads, pages = pages,
          heap = math.floor(collectgarbage("count") * 1024)}
end
local at_boot = measure()

---------------------------------------------------------------------------
-- The soak's own supervisor and victim (lua.isolation_*'s service).
local victim_labels = dofile("services_crash.lua").labels
local soak_sup = assert(l4.thread.create{code = "require('service').main(...)", prio = 160,
  memcap = 8 << 20, args = {"soak-supervisor", "supervisor.lua", names_id.raw, service.encode{
    services = {{name = "soak-victim", script = "services_crash.lua", restart = "always",
                 memcap = 4 << 20, prio = 90, backoff = 10, backoff_max = 10, limit = 1 << 30,
                 config = {mode = "serve", port = VICTIM_PORT}, io = {{VICTIM_PORT, 1}},
                 hang = 400, ping_every = 100}}}, false}})
assert(service.wait("soak-victim", 10000), "the soak's victim did not come up")

-- A supervisor's entry for name: the system's or the soak's; for the
-- supervisor itself and the console servers ("names"), what the name
-- service says; for the sessions and the push agent ("consoles"), what
-- the consoles' guardian keeps.
local function entry(which, name)
  if which == "names" or which == "consoles" then
    local id
    if which == "names" then id = names.lookup(name) else id = require("consoles").find(name) end
    return id and {name = name, id = id, state = "running"}
  end
  local sup = which == "soak" and soak_sup or names.lookup("supervisor")
  if not sup then return nil end
  local from, label, text = l4.call(sup, {timeout = 2000}, supervisor.STATUS)
  if not from or label ~= 0 then return nil end
  for _, s in ipairs(service.decode(text) or {}) do
    if s.name == name then
      if s.id then s.id = l4.id(s.id) end
      return s, sup
    end
  end
end

-- Whether id answers: the framework's PING, the file service's INFO or
-- the console protocol's; a root thread that serves nobody: it runs.
local function answers(id, probe)
  if probe == "alive" then return l4.thread.status(id) == "running" end
  local label = probe == "files" and files.INFO or probe == "console" and console.INFO
                or service.PING
  local from, l = l4.call(id, {timeout = 500}, label)
  return from ~= nil and l == 0
end

local function pager_of(id)
  for _, t in ipairs(l4.sys.threads()) do
    if t.id == id then return t.pager end
  end
end

---------------------------------------------------------------------------
-- The clients.
local clients = {}
for c = 1, CLIENTS do
  clients[c] = assert(l4.task.spawn{script = "soak/client.lua", name = "soak-client" .. c,
                                    memcap = 4 << 20, prio = 100,
                                    args = {c, names_id.raw, l4.self().raw}})
end

local function client_stats(c, label)
  local from, l, requests, ok, errors, lost, wrong, stray, echo, lookups, files, gone, noname,
        handler, io_errors, last = l4.call(clients[c], {timeout = 5000}, label or STATS)
  if not from or l ~= 0 then return nil, tostring(l) end
  return {requests = requests, ok = ok, errors = errors, lost = lost, wrong = wrong, stray = stray,
          echo = echo, lookups = lookups, files = files, gone = gone, noname = noname,
          handler = handler, io = io_errors, last = last}
end

for c = 1, CLIENTS do
  assert(wait_for(2000, function()
    local s = client_stats(c)
    return s and s.requests > 10
  end), "client " .. c .. " does not run")
end

---------------------------------------------------------------------------
-- One round's pieces.
local count = {threads = 0, root_threads = 0, thread_tasks = 0, spawns = 0, reloads = 0, kills = 0,
               root_restarts = 0, given_up = 0, absorbed = 0}
local by_kind, back_ms, back_by = {}, {}, {}

local function spawn(args, name, pager)
  local id, err, code = l4.task.spawn{script = "soak/job.lua", name = name, memcap = 8 << 20,
                                      args = args, pager = pager}
  if not id then problem("spawn %s: %s (%s)", name, tostring(err), tostring(code)) return nil end
  count.spawns = count.spawns + 1
  return id
end

local function finish(id, name, what)
  local how, st = l4.task.wait(id, 120000)
  l4.task.delete(id)
  if how ~= "exited" or st ~= 0 then
    problem("%s (%s): %s %s", name, what, tostring(how), tostring(st))
    return false
  end
  return true
end

local echo_source = assert(service.read_source("services/echo.lua"))
local function reload(k)
  local version = ("soak-%d"):format(k)
  local src = echo_source:gsub("version = 1,", ("version = %q,"):format(version), 1)
  local v, gen = service.reload("echo", src, "@services/echo.lua")
  if v ~= version then
    problem("reload %d of echo: %s %s", k, tostring(v), tostring(gen))
    return
  end
  count.reloads = count.reloads + 1
end

local function hit(k)
  local e = entry(k.supervisor, k.component)
  if not e or e.state ~= "running" or not e.id then
    problem("%s is not running before the %s: %s", k.component, k.how, e and e.state or "no entry")
    return nil
  end
  local id = e.id
  if k.how == "kill" then
    l4.task.delete(id)
  elseif k.how == "kill thread" then
    assert(l4.thread.kill(id))
  elseif k.how == "interrupt" then
    assert(l4.thread.interrupt(id, "soak: a Lua error on purpose"))
  elseif k.how == "crash" then
    if k.crash == "port_gp" then assert(l4.unmap(l4.iofpage(VICTIM_PORT, 0))) end
    local pager = pager_of(id)
    l4.call(id, {timeout = 3000}, victim_labels[k.crash], pager and pager.raw or 0)
  end
  return id
end

-- Back: a new id under its name, running, answering. An interrupt may
-- also be taken by the service itself (raised inside a handler or tick,
-- which the framework catches and logs): then the same id answering.
local function back(k, old, restarts)
  local e, sup = entry(k.supervisor, k.component)
  if not e then return false end
  if e.state == "given up" then
    -- the supervisor's limit (5 restarts in 30 s): what a person does
    count.given_up = count.given_up + 1
    l4.call(sup, {timeout = 5000}, supervisor.RESTART, k.component)
    return false
  end
  if e.state ~= "running" or e.id == nil or not answers(e.id, k.probe) then return false end
  if e.id ~= old then return true end
  -- restarted in place under its id (keep_id: the pager): its count
  if k.same_id and (e.restarts or 0) > restarts then return true end
  if k.how == "interrupt" and l4.thread.status(old) == "running" then
    return true, "absorbed"
  end
  return false
end

-- A component at random, then one of its kinds: each component gets its
-- share of the kills, however many kinds it has.
local function kill_one()
  local comps, of = {}, {}
  for _, k in ipairs(kinds) do
    if k.on then
      if not of[k.component] then
        of[k.component] = {}
        comps[#comps + 1] = k.component
      end
      table.insert(of[k.component], k)
    end
  end
  local list = of[comps[math.random(#comps)]]
  local k = list[math.random(#list)]
  local label = k.component .. " " .. k.how .. (k.crash and " " .. k.crash or "")
  local before = k.same_id and entry(k.supervisor, k.component)
  local restarts = before and before.restarts or 0
  local t0 = now_ms()
  local old = hit(k)
  if not old then return end
  count.kills = count.kills + 1
  if k.root then count.root_restarts = count.root_restarts + 1 end
  by_kind[label] = (by_kind[label] or 0) + 1
  local how
  local given_up = count.given_up
  if wait_for(BACK_MS, function() local ok, h = back(k, old, restarts); how = h; return ok end) then
    if how == "absorbed" then count.absorbed = count.absorbed + 1 end
    local ms = now_ms() - t0
    back_ms[#back_ms + 1] = ms
    local b = back_by[k.component] or {ms = {}, given_up = 0, slowest = ""}
    back_by[k.component] = b
    if count.given_up > given_up then
      b.given_up = b.given_up + 1       -- back after RESTART: not the promise's
    else
      b.ms[#b.ms + 1] = ms
      if ms >= (b.max or 0) then b.max, b.slowest = ms, label end
      local limit = k.backoff and BACK_MS or PROMISE_MS
      if ms > limit then
        problem("%s: back after %d ms of guest time, over %d", label, ms, limit)
      end
    end
  else
    local e = entry(k.supervisor, k.component)
    problem("%s: not back after %d ms (%s: %s)", label, BACK_MS, e and e.state or "no entry",
            e and tostring(e.reason) or "")
  end
end

-- n Lua threads of the root, one at a time: each sends its number times
-- 3 back and must end.
local THREAD_BODY = "local parent, i = ...; l4.send(parent, {timeout = 10000}, 0, i * 3)"
local function root_threads(n)
  for i = 1, n do
    local t, err = l4.thread.create{code = THREAD_BODY, args = {l4.self(), i}, stack = 64 << 10,
                                    memcap = 1 << 20}
    if not t then problem("a root thread: %s", tostring(err)) return end
    local from, _, v = l4.receive(t, 10000)
    local ended = wait_for(1000, function() return l4.thread.status(t) ~= "running" end)
    if not from or v ~= i * 3 or not ended or l4.thread.status(t) ~= "ended" then
      problem("root thread %d: %s %s, %s", i, tostring(from), tostring(v), l4.thread.status(t))
      return
    end
    count.threads = count.threads + 1
    count.root_threads = count.root_threads + 1
  end
end

local function round(r)
  root_threads(ROOT_THREADS)
  local jobs = {}
  local id = spawn({"threads", THREADS}, "soak-threads")
  if id then jobs[#jobs + 1] = {id, "soak-threads", THREADS .. " threads"} end
  -- the first caller's pager is the plan's Lua pager (pager_zero.lua,
  -- which hands its faults on to the root's pager): it lives through
  -- `kill pager` (the pager keeps its id)
  for j = 1, CALLERS do
    local name = j == 1 and "soak-paged" or "soak-call"
    id = spawn({"call", (names.server() or names_id).raw, r * 100 + j}, name,
               j == 1 and names.lookup("pager") or nil)
    if id then jobs[#jobs + 1] = {id, name, "a call"} end
  end
  for k = 1, RELOADS do reload((r - 1) * RELOADS + k) end
  for _, j in ipairs(jobs) do
    if finish(j[1], j[2], j[3]) and j[2] == "soak-threads" then
      count.threads = count.threads + THREADS
      count.thread_tasks = count.thread_tasks + 1
    end
  end
  kill_one()
end

---------------------------------------------------------------------------
-- The run.
local on, off = {}, {}
for _, k in ipairs(kinds) do
  local list = k.on and on or off
  local label = k.component .. " (" .. k.how .. (k.crash and " " .. k.crash or "") .. ")"
  list[#list + 1] = k.on and label or (label .. ": " .. k.why)
end
say("scale 1/%d: %d rounds of %d threads, %d spawns, %d reloads, 1 kill or crash; %d clients",
    config.scale, ROUNDS, THREADS, CALLERS + 1, RELOADS, CLIENTS)
say("kinds killed or crashed: %s", table.concat(on, ", "))
for _, text in ipairs(off) do say("not killed: %s", text) end

local t0 = l4.clock()
local start
for r = 1, ROUNDS do
  round(r)
  if r == WARMUP then start = measure() end
  if r % math.max(1, ROUNDS // 10) == 0 or r == ROUNDS then
    local m = measure()
    say("round %d of %d: %d ms of guest time so far; %d problems; kernel pool %s, root's pool %s, "
        .. "sigma0 %s bytes", r, ROUNDS, (l4.clock() - t0) // 1000, #problems, group(m.kmem),
        group(m.pool), group(m.sigma0))
    local tl = {}
    for name, p in pairs(m.pages) do tl[#tl + 1] = name .. " " .. p end
    table.sort(tl)
    say("  pages held: %s", table.concat(tl, ", "))
    -- what the framework's services hold in Lua (INFO): beside their
    -- pages, it tells a Lua leak from a heap that only grew
    local lm = {}
    for _, name in ipairs{"names", "echo", "soak-victim"} do
      local i = service.info(name, 500)
      lm[#lm + 1] = ("%s %s"):format(name, i and group(i.memory) or "?")
    end
    -- the root's own: the supervisor's Lua state, this one's, the store
    local sup = names.lookup("supervisor")
    local si = sup and l4.thread.info(sup)
    local stored = 0
    for _, bytes in pairs(l4.sys.store_list() or {}) do stored = stored + bytes end
    lm[#lm + 1] = ("supervisor %s, the soak's driver %s; the root's store %s"):format(
      si and group(si.memory) or "?", group(math.floor(collectgarbage("count") * 1024)),
      group(stored))
    say("  Lua bytes in use: %s", table.concat(lm, ", "))
  end
end
local guest_ms = (l4.clock() - t0) // 1000
local finish_m = measure()

---------------------------------------------------------------------------
-- The clients' counts, and their end.
local total = {requests = 0, ok = 0, errors = 0, lost = 0, wrong = 0, stray = 0, echo = 0,
               lookups = 0, files = 0, gone = 0, noname = 0, handler = 0, io = 0}
for c = 1, CLIENTS do
  local s, err = client_stats(c, STOP)
  if not s then
    problem("client %d does not answer: %s", c, err)
  else
    for k in pairs(total) do total[k] = total[k] + s[k] end
    if s.lost > 0 or s.wrong > 0 or s.stray > 0 then
      problem("client %d: %d lost, %d wrong, %d stray; the last: %s", c, s.lost, s.wrong, s.stray,
              s.last)
    end
    if s.ok + s.errors + s.lost + s.wrong ~= s.requests then
      problem("client %d: %d requests but %d outcomes", c, s.requests,
              s.ok + s.errors + s.lost + s.wrong)
    end
    local how, st = l4.task.wait(clients[c], 5000)
    if how ~= "exited" or st ~= 0 then problem("client %d ended %s %s", c, tostring(how), tostring(st)) end
  end
  l4.task.delete(clients[c])
end

---------------------------------------------------------------------------
-- The figures.
say("done: %d rounds in %d ms of guest time", ROUNDS, guest_ms)
say("Lua threads created: %s (%s in the root, the others in %s tasks)", group(count.threads),
    group(count.root_threads), group(count.thread_tasks))
say("tasks spawned: %s", group(count.spawns))
say("reloads of echo: %s", group(count.reloads))
table.sort(back_ms)
say("kills and crashes: %s; back after a median %d ms, at most %d ms of guest time; the supervisor "
    .. "gave up %d times (restarted with RESTART); %d interrupts taken by the service itself",
    group(count.kills), back_ms[(#back_ms + 1) // 2] or 0, back_ms[#back_ms] or 0,
    count.given_up, count.absorbed)
local comps = {}
for name in pairs(back_by) do comps[#comps + 1] = name end
table.sort(comps)
for _, name in ipairs(comps) do
  local b = back_by[name]
  table.sort(b.ms)
  say("  %-12s %4d back after a median %4d ms, at most %4d ms (%s)%s", name, #b.ms,
      b.ms[(#b.ms + 1) // 2] or 0, b.max or 0, b.slowest,
      b.given_up > 0 and (", %d more after the supervisor gave up"):format(b.given_up) or "")
end
local kl = {}
for label, n in pairs(by_kind) do kl[#kl + 1] = ("%s %d"):format(label, n) end
table.sort(kl)
say("  by kind: %s", table.concat(kl, ", "))
say("client requests: %s (echo %s, lookups %s, files %s): %s answered, %s clear errors, %d lost, "
    .. "%d wrong, %d stray", group(total.requests), group(total.echo), group(total.lookups),
    group(total.files), group(total.ok), group(total.errors), total.lost, total.wrong, total.stray)
say("  the clear errors: %s the partner gone (no partner, aborted), %s no such name (between "
    .. "a death and its restart), %s handler errors, %s file errors", group(total.gone),
    group(total.noname), group(total.handler), group(total.io))

-- Each figure against where it was after the warm-up, within 1% of the
-- resource's size (as lua.exhaust_* measure: docs/reliability.md).
local function figure(name, key, size, what)
  local a, b = start[key], finish_m[key]
  say("%-22s %12s bytes at boot, %12s after round %d, %12s at the end (%+d; 1%% of %s: %s)",
      name, group(at_boot[key]), group(a), WARMUP, group(b), b - a, what, group(size // 100))
  if math.abs(b - a) > size * TOLERANCE then
    problem("%s: %s bytes after round %d, %s at the end: more than 1%% of %s apart", name,
            group(a), WARMUP, group(b), what)
  end
end
say("threads: %d at boot, %d after round %d, %d at the end; the root's Lua heap %s, %s, %s bytes",
    at_boot.threads, start.threads, WARMUP, finish_m.threads, group(at_boot.heap),
    group(start.heap), group(finish_m.heap))
if finish_m.threads ~= start.threads then
  problem("%d threads after round %d, %d at the end", start.threads, WARMUP, finish_m.threads)
  local before = {}
  for _, t in ipairs(start.thread_list) do before[t.id.raw] = true end
  for _, t in ipairs(finish_m.thread_list) do
    if not before[t.id.raw] then
      say("  a thread more: %s (task %d), %s, waits for %s", tostring(t.id), t.task, t.state,
          tostring(t.partner or "-"))
    end
  end
end
local grown = {}
for name, p in pairs(finish_m.pages) do
  if start.pages[name] and start.pages[name] ~= p then
    grown[#grown + 1] = ("%s %d -> %d"):format(name, start.pages[name], p)
  end
end
table.sort(grown)
say("pages held by the tasks that lived through it (after round %d -> at the end): %s", WARMUP,
    #grown > 0 and table.concat(grown, ", ") or "no change")
figure("kernel pool used", "kmem", finish_m.kmem_size, "the kernel pool")
figure("root's pool, no owner", "lost", finish_m.pool_size, "the root's pool")
say("%-22s %12s bytes at boot, %12s after round %d, %12s at the end (the tasks' own pages and "
    .. "the root's arena chunks included)", "root's pool used", group(at_boot.pool), group(start.pool), WARMUP,
    group(finish_m.pool))
say("%-22s %12s bytes at boot, %12s after round %d, %12s at the end (the root's pool takes "
    .. "1 MiB blocks and keeps them)", "sigma0 free RAM", group(at_boot.sigma0), group(start.sigma0),
    WARMUP, group(finish_m.sigma0))
say("%-22s %12s bytes at boot, %12s after round %d, %12s at the end", "sigma0 + root's pool",
    group(at_boot.free_ram), group(start.free_ram), WARMUP, group(finish_m.free_ram))
-- The root's heap (one malloc heap for all the root's Lua states, grown
-- from sigma0 in 4 MiB blocks by sbrk, never given back: docs/runtime.md
-- "The heap") keeps the high-water mark of its threads' Lua heaps, whose
-- collector lets each swing to twice its live data: it may take one more
-- block after the warm-up with nothing leaked. So the RAM check counts
-- the heap's blocks as RAM the root holds, and the heap may grow by one
-- block at most; a second block (or any RAM lost elsewhere) fails.
figure("sigma0 + pool + heap", "free_ram_heap", l4.kip.memory.sigma0, "sigma0's RAM")
say("%-22s %12s bytes at boot, %12s after round %d, %12s at the end (grows by 4 MiB blocks)",
    "root's heap mapped", group(at_boot.root_heap), group(start.root_heap), WARMUP,
    group(finish_m.root_heap))
-- What the root's Lua states' arenas hold (their chunks: pool pages; their
-- large blocks: the heap's) and the spare chunks kept for the next states
-- (runtime/lua/arena.c): printed.
say("%-22s %12s bytes at boot, %12s after round %d, %12s at the end (spare chunks: %s, %s, %s)",
    "root's arenas hold", group(at_boot.arena_held), group(start.arena_held), WARMUP,
    group(finish_m.arena_held), group(at_boot.arena_spare), group(start.arena_spare),
    group(finish_m.arena_spare))
if finish_m.root_heap - start.root_heap > HEAP_BLOCK then
  problem("the root's heap grew by %s bytes after round %d: more than one block of %s",
          group(finish_m.root_heap - start.root_heap), WARMUP, group(HEAP_BLOCK))
end

if l4.debug.mdb_check() ~= true then problem("the mapping database check fails") end

if #problems == 0 then
  say("PASS")
  os.exit(0)
end
say("FAIL: %d problems", #problems)
for i = 1, math.min(#problems, 20) do say("  %s", problems[i]) end
os.exit(1)
