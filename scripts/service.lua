-- service.lua: the service framework (docs/services.md). A service is a
-- script that returns (or passes to service.run) a definition:
--
--   return {
--     name = "echo", version = 2,
--     init = function(state) state.n = 0 end,            -- first start only
--     migrate = function(old) return {n = old.n or 0} end, -- at a reload
--     handlers = {
--       [1] = function(state, from, x) state.n = state.n + 1; return x, state.n end,
--     },
--     timeout = 100,          -- ms a request may run (optional)
--     budget = 10000000,      -- instructions a request may run (optional)
--     period = 1000, tick = function(state) end,           -- optional
--     on_error = "reply",     -- or "exit": a handler error ends the task
--   }
--
-- The framework runs the request loop in the task (or root thread) that
-- runs it: a handler's values are the reply (label 0); a handler that
-- returns nothing replies later with service.reply(client, ...); an
-- error replies label 1 with the message. It registers the name with the
-- name service (names.lua) and answers the control labels PING, INFO and
-- RELOAD (a new version's source, compiled in the same Lua state and
-- swapped in between two requests).
--
-- Client side: service.call(name, label, ...), service.reload(name,
-- source [, chunkname]), service.reload_file(name [, path]),
-- service.info(id), service.list(), service.wait(name [, ms]).
local l4 = require "l4"

local M = {}

local proto = require "service_proto"

-- Reply labels and control labels (service_proto.lua has their layout).
M.OK, M.ERROR, M.UNKNOWN, M.REJECTED = proto.OK, proto.ERROR, proto.UNKNOWN, proto.REJECTED
M.CTL, M.PING, M.INFO, M.RELOAD, M.FAULT = proto.CTL, proto.PING, proto.INFO, proto.RELOAD, proto.FAULT
-- Codes of the client functions' failures (beside the IPC codes 1-13).
M.E_HANDLER, M.E_UNKNOWN, M.E_NONAME, M.E_REJECTED, M.E_NOTSERVICE = 101, 102, 103, 104, 105

local ROOT_TASK = l4.kip.root and l4.kip.root.task

---------------------------------------------------------------------------
-- Plain values as Lua source (plans, lists in replies): tables of strings,
-- numbers, booleans and such tables; ids become their raw value.
local function encode(v, out)
  local t = type(v)
  if t == "table" then
    out[#out + 1] = "{"
    local n = #v
    for i = 1, n do encode(v[i], out); out[#out + 1] = "," end
    local keys = {}
    for k in pairs(v) do
      if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
    end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do
      out[#out + 1] = "["; encode(k, out); out[#out + 1] = "]="
      encode(v[k], out); out[#out + 1] = ","
    end
    out[#out + 1] = "}"
  elseif t == "string" then
    out[#out + 1] = ("%q"):format(v)
  elseif t == "number" then
    out[#out + 1] = math.type(v) == "integer" and ("%d"):format(v) or ("%.17g"):format(v)
  elseif t == "boolean" or t == "nil" then
    out[#out + 1] = tostring(v)
  elseif t == "userdata" and v.raw then
    out[#out + 1] = ("%d"):format(v.raw)
  else
    error("cannot encode a " .. t, 0)
  end
end

function M.encode(v)
  local out = {"return "}
  encode(v, out)
  return table.concat(out)
end

function M.decode(s)
  local f, err = load(s, "=data", "t", {})
  if not f then return nil, err end
  local ok, v = pcall(f)
  if not ok then return nil, v end
  return v
end

---------------------------------------------------------------------------
-- Reading a service's script: the file service first (require "files",
-- if there is one, with files.read(path)), then io.open (the archive).
function M.read_source(path)
  local ok, files = pcall(require, "files")
  if ok and type(files) == "table" and type(files.read) == "function" then
    local done, text = pcall(files.read, path)
    if done and type(text) == "string" then return text end
  end
  local f, err = io.open(path, "r")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  return text
end

-- While a chunk is being compiled, service.run(def) only hands def back.
local loading = nil

-- Compiles a version: load, run its top level, check the definition.
-- Accepts a definition, or a module with its definition in .service.
local function compile(source, chunkname, fn)
  local err
  if not fn then fn, err = load(source, chunkname, "t") end
  if not fn then return nil, err end
  local mark = {}
  loading = mark
  local ok, res = pcall(fn)
  loading = nil
  if not ok then return nil, tostring(res) end
  local def = mark.def or res
  if type(def) == "table" and def.handlers == nil and type(def.service) == "table" then
    def = def.service
  end
  if type(def) ~= "table" or type(def.handlers) ~= "table" then
    return nil, ("%s: the script returns no service definition (a table with handlers)")
      :format(chunkname:gsub("^[@=]", ""))
  end
  if def.version == nil then def.version = "?" end
  if def.migrate ~= nil and type(def.migrate) ~= "function" then
    return nil, "migrate must be a function"
  end
  if def.period and type(def.tick) ~= "function" then
    return nil, "a period needs a tick function"
  end
  return def
end

-- The framework's count hook, f every 1000 instructions (f nil: none).
-- While a debugger is attached its agent holds the state's hook and
-- calls f from its own (debug_agent.lua, M.chain).
local function count_hook(f)
  local agent = package.loaded.debug_agent
  if agent and agent.attached() then return agent.chain(f, 1000) end
  if f then debug.sethook(f, "", 1000) else debug.sethook() end
end

-- An instruction or time limit on a piece of code, with a count hook.
local function limit(instructions, ms, what)
  if not instructions and not ms then return end
  local left = instructions
  local deadline = ms and l4.clock() + ms * 1000
  count_hook(function()
    if left then
      left = left - 1000
      if left <= 0 then count_hook(); error(what .. " ran out of its instruction budget", 0) end
    end
    if deadline and l4.clock() > deadline then
      count_hook(); error(("%s timed out after %g ms"):format(what, ms), 0)
    end
  end)
end

-- Reply values: integers and strings travel as they are; ids as their raw
-- value, booleans as 1 / 0. Anything else is the handler's error.
local function fix_values(...)
  local n = select("#", ...)
  local t = {...}
  for i = 1, n do
    local v = t[i]
    local ty = type(v)
    if ty == "boolean" then t[i] = v and 1 or 0
    elseif ty == "userdata" and v.raw then t[i] = v.raw
    elseif ty == "number" and math.type(v) == "float" and v ~= math.floor(v) then
      t[i] = tostring(v)
    elseif ty ~= "number" and ty ~= "string" then
      return nil, ("reply value #%d is a %s (integers and strings travel)"):format(i, ty)
    end
  end
  return t, n
end

-- Whether reply values travel as they are (integers and strings). The
-- request loop looks at the usual one to three itself (finish), without
-- a call per value.
local type, select, math_type, tointeger = type, select, math.type, math.tointeger
local function plain(...)
  for i = 1, select("#", ...) do
    local v = (select(i, ...))
    if math_type(v) ~= "integer" and type(v) ~= "string" then return false end
  end
  return true
end

---------------------------------------------------------------------------
-- The server: one loop per task (or root thread), single-threaded.
--
-- ctx.cur is the version that serves: {def, gen, good, source}. ctx.good
-- is the last version that served a request successfully (its definition,
-- source and the state it had when it was replaced), so that a version
-- whose first request raises can be undone at once.
local reply_wait, serve_c, OK = l4.reply_wait, l4.serve, M.OK

-- The answer to a client whose message could not be taken (raw: its id).
local function answer_lost(raw, msg)
  l4.reply(l4.id(raw), M.ERROR, msg)
end
local function serve(def, source, chunkname, name, state)
  local ctx = {
    name = name, state = state, requests = 0, errors = 0, reloads = 0, rollbacks = 0,
    next_gen = 2, last_error = "",
  }
  ctx.cur = {def = def, gen = 1, good = true, source = source, chunkname = chunkname}
  ctx.good = ctx.cur
  -- the serving version's definition, its handlers, and whether it is on
  -- probation (ctx.cur.good false: its first request not served yet),
  -- kept beside ctx.cur for the request loop (set where ctx.cur is)
  local cur_def, handlers, probation = def, def.handlers, false
  local next_tick = def.period and l4.clock() + def.period * 1000
  local ropts = {}          -- the receive timeout, when a tick is due

  local function version() return tostring(ctx.cur.def.version) end

  local function log(fmt, ...)
    print(("service %s: " .. fmt):format(ctx.name, ...))
  end

  -- Takes a new version: compile, migrate, swap. Nothing changes unless
  -- all of it worked.
  local function reload(src, cname)
    local old_def = ctx.cur.def
    limit(old_def.reload_budget or 10000000, nil, "the new version")
    local ok, new, err = pcall(compile, src, cname or "=reload")
    local new_state = ctx.state
    if ok and new and new.migrate then
      local okm, res = pcall(new.migrate, ctx.state)
      if not okm then
        ok, new, err = true, nil, "migrate: " .. tostring(res)
      elseif res ~= nil and type(res) ~= "table" then
        ok, new, err = true, nil, "migrate returned a " .. type(res) .. ", not a state table"
      elseif res ~= nil then
        new_state = res
      end
    end
    count_hook()
    if not ok then return nil, tostring(new) end
    if not new then return nil, err end
    if ctx.cur.good then
      ctx.good = {def = ctx.cur.def, gen = ctx.cur.gen, good = true, source = ctx.cur.source,
                  chunkname = ctx.cur.chunkname, state = ctx.state}
    end
    ctx.cur = {def = new, gen = ctx.next_gen, good = false, source = src, chunkname = cname}
    cur_def, probation = new, true
    ctx.next_gen = ctx.next_gen + 1
    ctx.state = new_state
    ctx.reloads = ctx.reloads + 1
    local agent = package.loaded.debug_agent
    if agent then agent.reloaded(cname, src) end
    handlers = new.handlers
    if new.period then
      next_tick = next_tick or l4.clock() + new.period * 1000
    else
      next_tick = nil
    end
    return tostring(new.version), ctx.cur.gen
  end

  -- The version on probation failed its first request: back to the last
  -- good one, with the state it had then.
  local function rollback(why)
    local bad, g = ctx.cur, ctx.good
    log("version %s failed its first request (%s); rolled back to version %s",
        tostring(bad.def.version), why, tostring(g.def.version))
    ctx.cur = {def = g.def, gen = g.gen, good = true, source = g.source, chunkname = g.chunkname}
    cur_def, probation = g.def, false
    ctx.state = g.state
    ctx.rollbacks = ctx.rollbacks + 1
    handlers = g.def.handlers
  end

  local arm                 -- (fault injection, below)
  -- The client the loop owes a reply now (a request taken, its reply not
  -- sent): answered with the error if the loop itself fails (below).
  local pending
  -- A failure meant to end the service (on_error "exit", the exit
  -- fault): error(err, 0) with exiting set, which the loop passes on.
  local exiting = false
  local function exit(err)
    exiting = true
    error(err, 0)
  end

  local function control(from, label, src, cname)
    if label == M.PING then
      return proto.ping(ctx.name, version())
    elseif label == M.INFO then
      return proto.info{requests = ctx.requests, errors = ctx.errors, generation = ctx.cur.gen,
                        good = ctx.good.gen, reloads = ctx.reloads, rollbacks = ctx.rollbacks,
                        name = ctx.name, version = version(), last_error = ctx.last_error}
    elseif label == M.RELOAD then
      if from.task ~= ROOT_TASK and from.task ~= l4.self().task then
        return M.REJECTED, "reload: only threads of the root task may reload a service"
      end
      if type(src) ~= "string" then return M.REJECTED, "reload: no source (a string) in the message" end
      local v, gen = reload(src, type(cname) == "string" and cname or nil)
      if not v then
        ctx.last_error = gen
        log("reload rejected, version %s keeps running: %s", version(), gen)
        return M.REJECTED, gen
      end
      return M.OK, gen, v, ctx.good.gen
    elseif label == M.FAULT then
      return arm(from, src, cname)
    end
    if math.type(label) == "integer" then
      return M.UNKNOWN, ("no handler for label 0x%x"):format(label)
    end
    return M.UNKNOWN, "no handler for " .. tostring(label)
  end

  local function tick()
    local d = ctx.cur.def
    next_tick = l4.clock() + d.period * 1000
    limit(d.budget, d.timeout, "tick")
    local ok, err = pcall(d.tick, ctx.state)
    count_hook()
    if not ok then
      ctx.errors = ctx.errors + 1
      ctx.last_error = tostring(err)
      log("tick failed: %s", ctx.last_error)
      if d.on_error == "exit" then exit(err) end
    end
  end

  local handle, finish, failed

  local function receive()
    pending = nil
    if next_tick then
      local left = (next_tick - l4.clock()) / 1000
      if left <= 0 then tick(); left = ctx.cur.def.period end
      ropts.receive = left
      return handle(nil, true, l4.receive(nil, ropts))
    end
    return handle(nil, true, l4.receive())
  end

  -- The reply and the next receive in one l4.reply_wait, under pcall: a
  -- reply that cannot even be built (or a receive that runs out of
  -- memory) is handle's failure, not the loop's end.
  local function send(from, label, ...)
    if next_tick then
      local left = (next_tick - l4.clock()) / 1000
      ropts.receive = left > 0 and left or 0
      return handle(from, pcall(reply_wait, from, ropts, label, ...))
    end
    return handle(from, pcall(reply_wait, from, label, ...))
  end

  -- What l4.serve hands back (bindings/ipc.c): the requests whose
  -- handlers it called (counted here), then a message it does not serve
  -- (handle's), a handler's values it does not send or a handler's error
  -- (finish's), or the first reply, if it is not its common case. Not ok:
  -- it failed after its reply had gone, in a receive (out of memory); the
  -- message, if one came, is lost, as it would be in l4.reply_wait.
  local SERVE_MESSAGE, SERVE_DONE, SERVE_FAILED = 1, 2, 3
  local function resume(ok, served, kind, a, ...)
    if not ok then
      ctx.errors = ctx.errors + 1
      ctx.last_error = tostring(served)
      return receive()
    end
    ctx.requests = ctx.requests + served
    if kind == SERVE_MESSAGE then return handle(nil, true, a, ...) end
    if kind == SERVE_DONE then return finish(a, false, true, ...) end
    if kind == SERVE_FAILED then return finish(a, false, false, ...) end
    return handle(a, pcall(reply_wait, a, ...))     -- SERVE_REPLY: client, label, ...
  end

  -- Fault injection (make faultinject; docs/reliability.md "Fault
  -- injection"): FAULT from the root task arms one fault, which the next
  -- request meets. Nothing is looked at per request but `armed`.
  local armed, armed_n
  local KINDS = {raise = true, memcap = true, exit = true, drop = true, double = true,
                 corrupt = true}
  function arm(from, n, kind)
    if from.task ~= ROOT_TASK then return M.REJECTED, "fault: only the root task injects faults" end
    if not KINDS[kind] or math.type(n) ~= "integer" or n < 0 then
      return M.REJECTED, "fault: a kind (raise, memcap, exit, drop, double, corrupt) and a count"
    end
    armed, armed_n = kind, n
    return M.OK
  end

  -- The request meets the armed fault: raise, an error after n VM
  -- instructions (in the handler, or past it in the framework); memcap,
  -- the state's allocation after n more fails; exit, the task ends in
  -- the middle of the request; drop, double and corrupt, the handler's
  -- reply is not sent, sent twice, or sent with every value changed.
  local function inject(from, h, ...)
    local kind, n = armed, armed_n
    armed = nil
    if kind == "exit" then exit("injected fault: the task exits in the middle of a request") end
    if kind == "raise" then     -- counted from the handler's first instruction
      return finish(from, true, pcall(function(...)
        debug.sethook(function() debug.sethook(); error("injected fault: raised at a random point", 0) end,
                      "", n + 1)
        return h(...)
      end, ctx.state, from, ...))
    end
    if kind == "memcap" then
      l4.debug.alloc_limit(n)
      return finish(from, false, pcall(h, ctx.state, from, ...))
    end
    local r = table.pack(pcall(h, ctx.state, from, ...))
    if not r[1] or r.n == 1 then return finish(from, false, table.unpack(r, 1, r.n)) end
    if kind == "drop" then return receive() end
    if kind == "double" then pcall(l4.reply, from, OK, table.unpack(r, 2, r.n)) end
    if kind == "corrupt" then   -- every value changed, as fault.lua changes them
      return finish(from, false, true, proto.corrupted(r.n - 1, table.unpack(r, 2, r.n)))
    end
    return finish(from, false, table.unpack(r, 1, r.n))
  end

  -- A message arrived (ok, from, label, ...), or a reply or receive
  -- failed (ok, nil, message, code): a reply to a client that stopped
  -- waiting (it timed out, was killed) is dropped; the loop receives
  -- afresh. ok false: the reply to prev could not even be built (from
  -- is l4.reply_wait's error). One function for all of it: each call of
  -- a vararg function costs the request a copy of its values.
  function handle(prev, ok, from, label, ...)
    if not ok then
      pending = prev
      ctx.errors = ctx.errors + 1
      ctx.last_error = tostring(from)
      return send(prev, M.ERROR, "bad reply: " .. tostring(from))
    end
    if from == nil then
      -- a message came that could not be taken, for want of memory: the
      -- receive gives its sender's raw id (bindings/ipc.c "received"),
      -- which is answered with the error rather than left waiting
      local _, sender = ...
      if math_type(sender) == "integer" then
        ctx.errors = ctx.errors + 1
        ctx.last_error = label
        pcall(answer_lost, sender, label)
      end
      return receive()
    end
    pending = from
    -- a due tick runs first, but not before a PING's answer: a tick may
    -- wait long (the supervisor's, 200 ms on each hung component's
    -- PING), and a PING that waits behind it is taken for a hang (its
    -- guard's, supervisor.guard); the tick runs at the next receive
    if next_tick and label ~= M.PING and l4.clock() >= next_tick then tick() end
    local h = handlers[label]
    if h == nil then
      -- A reply that came after its caller stopped waiting (its call
      -- timed out), taken by this open receive: not a request, and not
      -- answered. Answered, "no handler for label 0x0" (label UNKNOWN, 2)
      -- reached the late replier's own open receive as a request of its
      -- label 2 (sysinfo's: a reload of a service so named).
      if proto.late_reply(label) then return receive() end
      if label == M.PING and M.unregistered then
        l4.reply(from, control(from, label, ...))    -- answered first: not a late PING
        M.register(M.unregistered)
        return receive()
      end
      return send(from, control(from, label, ...))
    end
    ctx.requests = ctx.requests + 1
    if armed then return inject(from, h, ...) end
    local d = cur_def
    local hooked = false
    if d.budget or d.timeout then
      limit(d.budget, d.timeout, "the request")
      hooked = true
    end
    -- a debugger that stops at errors sets M.debug_error (debug_agent.lua)
    local stop_at = M.debug_error
    if stop_at then return finish(from, hooked, xpcall(h, stop_at, ctx.state, from, ...)) end
    return finish(from, hooked, pcall(h, ctx.state, from, ...))
  end

  function finish(from, hooked, ok, ...)
    pending = from
    if hooked then count_hook() end
    if not ok then return failed(from, ...) end
    if probation then
      local cur = ctx.cur
      cur.good, ctx.good, probation = true, cur, false
    end
    local n = select("#", ...)
    if n == 0 then return receive() end        -- a reply later
    -- plain(...) for the usual one to three values, inline; an integral
    -- float passes too, as fix_values would let it (it travels as its
    -- integer), and math.tointeger is the cheapest test of a number
    local a, b, c = ...
    if n <= 3 and (tointeger(a) == a or type(a) == "string") and
        (n < 2 or tointeger(b) == b or type(b) == "string") and
        (n < 3 or tointeger(c) == c or type(c) == "string") or n > 3 and plain(...) then
      if next_tick then return send(from, OK, ...) end
      -- no policy of the framework's for the next requests (no tick,
      -- fault, budget, debugger, probation): l4.serve replies and serves
      -- them in C while they are integers to a handler (resume, above)
      if not (armed or cur_def.budget or cur_def.timeout or M.debug_error) then
        return resume(pcall(serve_c, handlers, ctx.state, from, OK, ...))
      end
      return handle(from, pcall(reply_wait, from, OK, ...))
    end
    local t, tn = fix_values(...)
    if not t then return failed(from, tn) end
    return send(from, OK, table.unpack(t, 1, tn))
  end

  function failed(from, err)
    err = tostring(err)
    ctx.errors = ctx.errors + 1
    ctx.last_error = err
    if not ctx.cur.good and ctx.good ~= ctx.cur then rollback(err) end
    if ctx.cur.def.on_error == "exit" then
      l4.reply(from, M.ERROR, err)
      exit(err)
    end
    return send(from, M.ERROR, err)
  end

  M._ctx = ctx
  -- The loop runs outside the handlers' pcall too: taking a message,
  -- building a reply (the values, an error's text), a control request, a
  -- fault's bookkeeping, the reply and the next receive (l4.serve's, in
  -- C). Any of them may run out of memory (the state's memcap): the
  -- client it owed a reply then gets the error, and the loop goes on
  -- receiving, in this same frame (nothing piles up on the stack). Other
  -- errors end the service as ever (the supervisor restarts it).
  while true do
    local _, err = pcall(receive)
    if exiting or err ~= "not enough memory" then error(err, 0) end
    count_hook()                -- a request's limit, left set
    ctx.errors = ctx.errors + 1
    ctx.last_error = err
    local owed = pending
    pending = nil
    if owed then pcall(l4.reply, owed, M.ERROR, err) end
  end
end

-- A version's first state: init(state) if it has one; else what its
-- migrate makes of an empty state (a version reloaded earlier may be
-- restarted afresh by the supervisor).
local function fresh(def, state)
  if def.init then
    def.init(state)
  elseif def.migrate then
    local new = def.migrate(state)
    if type(new) == "table" then
      new.config = new.config or state.config
      state = new
    end
  end
  return state
end

-- service.run(def): serves def in this thread, for ever. Called by a
-- script that is being compiled (at start or at a reload), it hands the
-- definition back instead.
function M.run(def)
  if loading then loading.def = def; return def end
  local name = def.name or "service"
  local state = fresh(def, {})
  M.register(name)
  return serve(def, nil, "=" .. name, name, state)
end

-- Registers this thread under name with the name service (if this task
-- knows one; the name service registers itself).
-- One that failed (the name service was being restarted: its state
-- comes back, but a registration it never received does not) is tried
-- again after each PING the service answers (the supervisor's, every
-- second), until it is done: M.unregistered holds the name meanwhile.
function M.register(name)
  local ok, names = pcall(require, "names")
  if not ok or name == "names" then return end    -- the name service holds its own name
  local server = names.server()
  if server and server ~= l4.self() then
    local done, err = names.register(name, l4.self())
    if done then
      if M.unregistered then print(("service %s: registered"):format(name)) end
      M.unregistered = nil
    else
      if not M.unregistered then
        print(("service %s: cannot register: %s (tried again after each PING)"):format(name, tostring(err)))
      end
      M.unregistered = name
    end
  end
end

-- The body of a service's task or thread (service_task.lua, the
-- supervisor): name, script path, the name service's raw id (or false),
-- a config string (service.encode; or false), the source (or false: read
-- the script) and its chunk name (or false).
function M.main(name, script, names_raw, config, source, source_name)
  if names_raw and names_raw ~= 0 then require("names").use(l4.id(names_raw)) end
  local chunkname = "@" .. tostring(script)
  local fn
  if not source then
    local err
    source, err = M.read_source(script)
    if not source then error(("service %s: cannot read %s: %s"):format(name, script, err), 0) end
    -- the script as a file: loadfile takes the archive's precompiled
    -- chunk when the file is the archive's (docs/runtime.md "Precompiled
    -- chunks"); only if it reads the same bytes as read_source did
    local f = loadfile(script, "t")
    if f and M.read_source(script) == source then fn = f end
  else
    chunkname = source_name or ("=" .. name .. " (reloaded source)")
  end
  local def, err = compile(source, chunkname, fn)
  if not def then error(("service %s: %s"):format(name, err), 0) end
  name = name or def.name
  local state = {}
  if config then state.config = assert(M.decode(config)) end
  state = fresh(def, state)
  -- a root thread's collector (rootgc.lua) once its start is done: set
  -- before, its pause of 110% ran a cycle at each tenth of growth while
  -- the service loaded its modules and ran its init
  if l4.self().task == l4.kip.root.task then require("rootgc").settle() end
  M.register(name)
  return serve(def, source, chunkname, name, state)
end

-- A deferred reply (for a handler that returned nothing).
function M.reply(client, ...)
  return l4.reply(client, M.OK, ...)
end

---------------------------------------------------------------------------
-- Clients.

local cache = {}          -- name -> id, as last looked up

local cached_from = {}    -- name -> the name service that said it

local function lookup(name, fresh)
  if not fresh and cache[name] then return cache[name] end
  local names = require "names"
  local id, err, code = names.lookup(name)
  if not id then return nil, err, code end
  cache[name], cached_from[name] = id, names.server()
  return id
end

local function outcome(from, label, ...)
  if from == nil then return nil, label, ... end
  if label == OK then
    if select("#", ...) == 0 then return true end
    return ...
  elseif label == M.ERROR then
    return nil, (...), M.E_HANDLER
  elseif label == M.UNKNOWN then
    return nil, (...) or "unknown request", M.E_UNKNOWN
  elseif label == M.REJECTED then
    return nil, (...), M.E_REJECTED
  end
  return nil, ("unexpected reply label %d"):format(label), M.E_NOTSERVICE
end

-- IPC codes that say the partner is gone: no partner, aborted; and those
-- that may: a timeout (a root thread that was killed stays parked: a call
-- to it times out).
local DEAD = {[1] = true, [10] = true, [11] = true}
local SLOW = {[2] = true, [3] = true}

-- service.call(name, label, ...) -> the reply's values (true if none);
-- nil, message, code: an IPC code (1 no partner, 10/11 aborted, 2/3
-- timeout), or E_HANDLER (the handler raised message), E_UNKNOWN,
-- E_NONAME. A dead partner (or one that timed out) is looked up again
-- once and, if the name now names another thread, called again.
-- name may also be a table {name, timeout = ms}.
--
-- The common case (an id in the cache, up to 4 values) makes no table: the
-- values are kept in parameters for the one retry, and an OK reply's
-- values are returned by first itself. Values that were sent are never
-- nil (l4.call raises for a nil), so the ones kept are those before the
-- first nil; nor are received ones.
local function again(name, id, opts, label, msg, code, n, args)
  cache[name] = nil
  local id2 = lookup(name, true)
  if (not id2 or id2 == id) and SLOW[code] then
    return nil, ("%s: %s"):format(name, msg), code
  elseif not id2 or id2 == id then
    return nil, ("%s: %s (the service is gone%s)"):format(name, msg,
      id2 and "; its name is not taken yet by a restart" or ""), code
  end
  if opts then return outcome(l4.call(id2, opts, label, table.unpack(args, 1, n))) end
  return outcome(l4.call(id2, label, table.unpack(args, 1, n)))
end

-- The first call's reply (from, label, ...), or its failure (nil,
-- message, code); the call's values in a, b, c, d (at most 4: the
-- non-nil ones) or table.pack's table (a: a table is no value a call
-- sends).
local function first(name, id, opts, label, a, b, c, d, from, rlabel, ...)
  if rlabel == OK and from ~= nil then
    if (...) == nil then return true end
    return ...
  end
  if from ~= nil then return outcome(from, rlabel, ...) end
  local msg, code = rlabel, ...
  if not (DEAD[code] or SLOW[code]) then return nil, msg, code end
  if type(a) == "table" then return again(name, id, opts, label, msg, code, a.n, a) end
  local n = a == nil and 0 or b == nil and 1 or c == nil and 2 or d == nil and 3 or 4
  return again(name, id, opts, label, msg, code, n, {a, b, c, d})
end

function M.call(name, label, ...)
  local id, opts = cache[name], nil     -- (a table is never a key of the cache)
  if not id then
    if type(name) == "table" then opts = {timeout = name.timeout}; name = name[1] end
    id = cache[name]
    if not id then
      local err, code
      id, err, code = lookup(name)
      if not id then return nil, err, code end
    end
  end
  local a, b, c, d, e = ...
  if e == nil then
    if opts then
      return first(name, id, opts, label, a, b, c, d, l4.call(id, opts, label, ...))
    end
    return first(name, id, nil, label, a, b, c, d, l4.call(id, label, ...))
  end
  local args = table.pack(...)
  if opts then
    return first(name, id, opts, label, args, nil, nil, nil, l4.call(id, opts, label, ...))
  end
  return first(name, id, nil, label, args, nil, nil, nil, l4.call(id, label, ...))
end

-- service.info(id | name, [ms]) -> {name, version, requests, errors,
-- generation, good, reloads, rollbacks, memory, last_error}; nil,
-- message, code.
function M.info(who, ms)
  local id = who
  if type(who) == "string" then
    local err, code
    id, err, code = lookup(who)
    if not id then return nil, err, code end
  end
  local from, label, req, errs, gen, good, reloads, rb, mem, name, v, last =
    l4.call(id, {timeout = ms or 500}, M.INFO)
  if not from and type(who) == "string" and DEAD[req] then
    -- the id of an earlier incarnation (restarted since): ask the name again
    cache[who] = nil
    local id2 = lookup(who, true)
    if id2 and id2 ~= id then
      from, label, req, errs, gen, good, reloads, rb, mem, name, v, last =
        l4.call(id2, {timeout = ms or 500}, M.INFO)
    end
  end
  if not from then return nil, label, req end
  if label ~= M.OK then return nil, "not a service (it does not answer INFO)", M.E_NOTSERVICE end
  return {name = name, version = v, requests = req, errors = errs, generation = gen,
          good = good, reloads = reloads, rollbacks = rb, memory = mem,
          last_error = last ~= "" and last or nil}
end

-- service.reload(name, source, [chunkname]) -> the new version (a string),
-- the generation; nil, message, code. The source is stored as name's
-- script first (service_keep.lua: on the disk, so that it runs after a
-- reboot; put back if the reload fails). The service compiles, migrates
-- and swaps; a rejected version leaves the old one serving. The supervisor
-- (if there is one) is told the new source, for restarts and rollbacks.
-- A version travels whole in one string item, into one of the server's
-- receive buffers (64 KiB each: docs/lua-api.md "Receive buffers").
M.RELOAD_MAX = 65536

-- name's id as the cache has it while it may still be name's (the name
-- service that said it is the one in use; a root thread's: running; a
-- task's: a gone one answers a call at once, which then looks it up
-- again), else as the name service says now. -> id,
-- whether it came from the cache; nil, false, message, code.
local function live(name)
  local id = cache[name]
  if id and cached_from[name] == require("names").server()
     and (id.task ~= ROOT_TASK or l4.thread.status(id) == "running") then
    return id, true
  end
  local err, code
  id, err, code = lookup(name, true)
  return id, false, err, code
end

function M.reload(name, source, chunkname)
  if type(source) ~= "string" then error("bad argument #2 to 'reload' (a source string)", 2) end
  if #source > M.RELOAD_MAX then
    return nil, ("%s: a version of %d bytes: a reload carries at most %d (split it into modules)")
      :format(name, #source, M.RELOAD_MAX), M.E_REJECTED
  end
  local id, cached, err, code = live(name)
  if not id then return nil, err, code end
  -- kept as name's script first (service_keep.lua): what runs after a
  -- reboot is what was reloaded; put back if the reload fails
  local undo, why, kcode = require("service_keep").keep(name, source)
  if undo == nil then return nil, ("%s: %s"):format(name, why), kcode end
  local cname = chunkname or "=" .. name
  local from, label, gen, good, v = l4.call(id, {timeout = 10000}, M.RELOAD, source, cname)
  if not from and cached and DEAD[gen] then         -- gone since it was looked up
    id = lookup(name, true)
    if id then from, label, gen, good, v = l4.call(id, {timeout = 10000}, M.RELOAD, source, cname) end
  end
  if label ~= M.OK and undo then undo() end
  if not from then return nil, ("%s: %s"):format(name, label), gen end
  if label ~= M.OK then
    if label == M.UNKNOWN then return nil, name .. " is not a service (no RELOAD)", M.E_NOTSERVICE end
    return nil, gen, M.E_REJECTED
  end
  -- the framework's answer: generation, good generation, version (integers
  -- travel first); a RELOAD of its own (the pager, the console) gives no
  -- good generation
  if math.type(good) ~= "integer" then good, v = nil, good end
  local RELOADED = require("supervisor").RELOADED
  local function tell(sup)
    if not sup or sup == id then return true end
    if good then return l4.call(sup, {timeout = 2000}, RELOADED, gen, good, name, source, cname) end
    return l4.call(sup, {timeout = 2000}, RELOADED, gen, name, source, cname)
  end
  local sup, scached = live("supervisor")
  local told, _, tcode = tell(sup)
  if not told and scached and DEAD[tcode] then tell((lookup("supervisor", true))) end
  return v, gen
end

-- service.reload_file(name, [path]) -> as reload: the script read through
-- the file service or the archive (path default: the supervisor's script
-- of name, else "services/<name>.lua").
function M.reload_file(name, path)
  if not path then
    local ok, sup = pcall(require, "supervisor")
    local st = ok and sup.status and sup.status()
    for _, s in ipairs(st or {}) do
      if s.name == name then path = s.script end
    end
    path = path or ("services/" .. name .. ".lua")
  end
  local source, err = M.read_source(path)
  if not source then return nil, err, M.E_NONAME end
  return M.reload(name, source, "@" .. path)
end

-- service.wait(name, [ms]) -> id once name is registered and answers
-- PING (nil, message after ms, default 5000).
function M.wait(name, ms)
  local deadline = l4.clock() + (ms or 5000) * 1000
  repeat
    local id = lookup(name, true)
    if id then
      local from, label = l4.call(id, {timeout = 200}, M.PING)
      if from and label == M.OK then return id end
    end
    l4.sleep(10)
  until l4.clock() > deadline
  return nil, name .. " did not come up"
end

-- service.list() -> every registered name with its INFO and what the
-- supervisor says: {name, id, version, requests, errors, generation,
-- reloads, rollbacks, state, restarts, reason, script, kind}.
function M.list()
  local names = require("names")
  local entries, err = names.list()
  if not entries then return nil, err end
  local sup = {}
  local ok, supervisor = pcall(require, "supervisor")
  for _, s in ipairs(ok and supervisor.status() or {}) do sup[s.name] = s end
  local seen = {}
  for _, e in ipairs(entries) do
    seen[e.name] = true
    local i, why, code = M.info(e.id, 200)
    if i then
      for k, v in pairs(i) do if k ~= "name" then e[k] = v end end
      e.state = "running"
    else
      e.state = code == M.E_NOTSERVICE and "not a service" or ("no answer: " .. tostring(why))
    end
    local s = sup[e.name]
    if s then
      e.state = s.state == "running" and e.state or s.state
      e.restarts, e.reason, e.script, e.kind = s.restarts, s.reason, s.script, s.kind
    end
  end
  for name, s in pairs(sup) do
    if not seen[name] then
      -- a plain entry that answers no request (telnet, httpd): its id
      -- from the supervisor, which started it
      entries[#entries + 1] = {name = name, id = s.id, state = s.state, restarts = s.restarts,
                               reason = s.reason, script = s.script, kind = s.kind}
    end
  end
  table.sort(entries, function(a, b) return a.name < b.name end)
  return entries
end

return M
