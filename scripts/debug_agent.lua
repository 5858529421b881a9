-- debug_agent.lua: the debugger's agent inside a debugged Lua state
-- (docs/debugger.md). It is loaded by the bindings at the first message
-- with label l4.label.debug that an open receive of the state's thread
-- takes (bindings/ipc.c, debug_message): a thread nobody debugs never
-- loads it and never runs a hook.
--
-- The debugger (scripts/debugger.lua, in a thread of the root task) sends
-- l4.call(target, DEBUG, command, argument) and gets back label 0 with
-- the result as Lua source (service.encode), or label 1 with a message.
-- The agent takes these messages in three places:
--   * an open receive of the thread (the bindings call M.message, then
--     receive again): a thread blocked in IPC, the usual case;
--   * its count hook, while attached: every POLL Lua instructions a
--     receive from the debugger with timeout 0 (a thread in a long run);
--   * the stop loop: while the thread is stopped (breakpoint, step,
--     pause, error) it receives from the debugger only, until continue,
--     step or detach. Its other clients wait in the kernel, with their
--     own timeouts.
--
-- Invariants: `owner` is set exactly while attached, and only then is a
-- hook of the agent's installed (on `co`, the coroutine that took the
-- attach). `busy` is true while the agent itself runs (its code and what
-- a person evaluates are never stopped in). The framework's own count
-- hook (service.lua's request budget) is chained through M.chain.
local l4 = require "l4"

local getinfo, getlocal, setlocal, getupvalue, setupvalue, sethook, gethook =
  debug.getinfo, debug.getlocal, debug.setlocal, debug.getupvalue, debug.setupvalue,
  debug.sethook, debug.gethook
local pcall, xpcall, load, type, tostring, select, pairs, ipairs, next =
  pcall, xpcall, load, type, tostring, select, pairs, ipairs, next

local M = {}

local SELF = getinfo(1, "S").source
-- The agent's own messages go through these, taken at its load: the IPC
-- trace (below) wraps the l4 table's and must not see them.
local l4_reply, l4_receive = l4.reply, l4.receive
local DEBUG = l4.label.debug
local ROOT_TASK = l4.kip.root and l4.kip.root.task
local OK, ERR = 0, 1
local POLL = 20000          -- Lua instructions between two looks for the debugger
local WAIT_MS = 1000        -- the stop loop's receive; then it checks the debugger is there

local owner, co = nil, nil
local busy = false
local bps, next_bp = {}, 1  -- id -> {id, file, line, func, cond, hits}
local lines, funcs = {}, {} -- line -> {bp...}; function name -> {bp...}
local step = nil            -- {mode = "in"|"over"|"out", height = frame 1's height}
local on_error = "none"
local chained, chain_count, chain_acc = nil, nil, 0
local DENSE = 10            -- Lua instructions to the next sample after one that saw CPU time
local DENSE_FOR = 100       -- and for how many instructions without CPU time that goes on
local polls, hook_count = 0, POLL   -- instructions since the last look; per count event
local seq, stopped = 0, nil -- the current stop: {seq, reason, file, line, message}
local refs, nrefs = {}, 0   -- tables shown while stopped, by number
local prof = nil            -- {count, funcs, lines, samples, cpu: the same in CPU us}
-- The profiler's clock: this thread's CPU time as the kernel counts it
-- (each 1 ms timer tick is charged to the thread it lands in), read at
-- each sample; what it grew by since the last sample is charged to where
-- the sample finds the thread. So time in C functions and in the kernel
-- on the thread's behalf counts, and time it waits does not.
local schedule = l4.thread.schedule
local function cpu_us(me)
  local _, _, us = schedule(me)
  return us or 0
end
local saved_pcall, saved_xpcall = nil, nil

local function encode(v) return require("service").encode(v) end

---------------------------------------------------------------------------
-- Frames. Level numbers a person sees start at 1: the first frame below
-- the agent's own when it stopped (the hooked function, the function
-- that raised, or the C function the thread waits in). A frame is
-- found again by its height (frames from it to the bottom of the
-- stack), which the agent's own calls above it do not change.

-- The level, seen from base's caller, of the first frame not the agent's;
-- skip "wait": also a nameless C frame right below them (the bindings'
-- call into the agent, bindings/ipc.c agent_call); "error": also the C
-- functions there (error, assert: the frame that raised is the Lua one).
local function base(skip)
  local level = 2
  while true do
    local i = getinfo(level, "Sn")
    if not i then return nil end
    if i.source ~= SELF then
      if skip == "wait" and i.what == "C" and not i.name then return level end
      if skip ~= "error" or i.what ~= "C" or not getinfo(level + 1, "l") then return level - 1 end
    end
    level = level + 1
  end
end

-- How many frames from level (seen from the caller) to the bottom.
local function height(level)
  local n = 0
  while getinfo(level + 1 + n, "l") do n = n + 1 end
  return n
end

local stop_h = 0            -- while stopped: frame 1's height

-- The level, seen from the caller, of the stop's frame k.
local function level_of(k)
  return height(2) - stop_h + k
end

-- A value as a short line of text.
local function short(v)
  local t = type(v)
  local s
  if t == "string" then
    s = ("%q"):format(#v > 60 and v:sub(1, 60) .. "..." or v):gsub("\\\n", "\\n")
  elseif t == "table" then
    local n = 0
    for _ in next, v do n = n + 1; if n > 99 then break end end
    s = ("table: %d field%s"):format(n, n == 1 and "" or "s")
  else
    local ok, r = pcall(tostring, v)
    s = ok and type(r) == "string" and r or t
  end
  return #s > 80 and s:sub(1, 77) .. "..." or s
end

local function ref(v)
  if type(v) ~= "table" then return nil end
  for k, t in pairs(refs) do if t == v then return k end end
  nrefs = nrefs + 1
  refs[nrefs] = v
  return nrefs
end

local function var(name, v)
  return {name = tostring(name), value = short(v), type = type(v), ref = ref(v)}
end

-- The source line `line` of a chunk (file text through the file service
-- or the archive), or nil.
local sources = {}
local function source_line(src, line)
  if type(src) ~= "string" or src:sub(1, 1) ~= "@" or not line or line < 1 then return nil end
  local text = sources[src]
  if text == nil then
    text = require("service").read_source(src:sub(2)) or false
    sources[src] = text
  end
  if not text then return nil end
  local n = 0
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if n == line then return l end
  end
end

local function where(i)
  local name = i.name or (i.what == "main" and "main chunk")
    or (i.what == "Lua" and ("function <%s:%d>"):format(i.short_src, i.linedefined)) or "?"
  return {file = i.short_src, line = i.currentline, name = name,
          what = i.what, source = source_line(i.source, i.currentline)}
end

---------------------------------------------------------------------------
-- Evaluating in a frame: its locals and upvalues by name, then its
-- _ENV. Assignments to a local or an upvalue change it in the frame.

local function frame_scope(level)    -- level seen from frame_scope's caller
  level = level + 1
  local info = getinfo(level, "f")
  if not info then return nil end
  local scope = {}                   -- name -> {kind, index, value}
  local i = 1
  while true do
    local name, v = getlocal(level, i)
    if not name then break end
    if name:sub(1, 1) ~= "(" then scope[name] = {kind = "local", index = i, value = v} end
    i = i + 1
  end
  local f = info.func
  i = 1
  while true do
    local name, v = getupvalue(f, i)
    if not name then break end
    if scope[name] == nil then scope[name] = {kind = "upvalue", index = i, value = v} end
    i = i + 1
  end
  return scope, f
end

-- Runs text (an expression, else a statement) in frame k; -> ok, values
local function eval_in(k, text)
  local level = level_of(k)
  local scope, f = frame_scope(level)
  if not scope then return false, "no frame " .. tostring(k) end
  local genv = scope._ENV and scope._ENV.value or _G
  local env = setmetatable({}, {
    __index = function(_, name)
      local s = scope[name]
      if s then return s.value end
      return genv[name]
    end,
    __newindex = function(_, name, v)
      local s = scope[name]
      if s then
        s.value, s.dirty = v, true
        if s.kind == "upvalue" then setupvalue(f, s.index, v) end
      else
        genv[name] = v
      end
    end,
  })
  local chunk = load("return " .. text, "=eval", "t", env)
  if not chunk then
    local err
    chunk, err = load(text, "=eval", "t", env)
    if not chunk then return false, err end
  end
  local r = table.pack(pcall(chunk))
  for _, s in pairs(scope) do
    if s.dirty and s.kind == "local" then setlocal(level, s.index, s.value) end
  end
  return table.unpack(r, 1, r.n)
end

---------------------------------------------------------------------------
-- The hook.

local stop

local function any(t) return next(t) ~= nil end

-- Installs the hook the state asks for: none when not attached (the
-- framework's own, if it has one), else lines / calls / counts.
-- The IPC trace (below): its state, and what notes the message a receive
-- that was waiting when it began returns (a return hook).
local trace, trace_in = nil, nil
local taken_in = nil        -- where the command being handled was taken: "wait", "run", "stop"

-- dense: the next sample after DENSE instructions (the one before saw
-- CPU time go by: C code may be running, and a sample that comes only
-- `count` instructions later may be in another function already)
local function rehook(dense)
  if not co then return end
  if not owner then
    if chained then sethook(co, chained, "", chain_count) else sethook(co) end
    return
  end
  local mask = ""
  if step or any(lines) then mask = "l" end
  if any(funcs) then mask = mask .. "c" end
  if trace and trace.pending then mask = mask .. "r" end
  local count = POLL
  if prof then
    -- a random interval (count/2 to count) at each hooking: the service
    -- framework sets its hook again at each request, which starts the
    -- count again, and a fixed interval then always sampled the same
    -- places of a request (a function at the end of a short request was
    -- never seen). Not math.random: the target's own sequence stays its.
    prof.seed = (prof.seed * 1103515245 + 12345) % 2147483648
    count = dense and DENSE or prof.count // 2 + prof.seed % (prof.count - prof.count // 2 + 1)
  end
  if chained and chain_count < count then count = chain_count end
  hook_count = count
  sethook(co, M.hook, mask, count)
end

-- Whether bp's condition holds in the hooked function (level 3 here:
-- above it M.hook and this function).
local function cond_true(bp)
  if not bp.cond then return true end
  busy = true
  local saved = stop_h
  stop_h = height(3)
  local ok, v = eval_in(1, bp.cond)
  stop_h = saved
  busy = false
  return ok and v
end

local handle

-- A debugger's message taken by the count hook or the stop loop.
local function take(from, label, cmd, arg, context)
  if label ~= DEBUG then return end
  local was = busy
  busy = true
  local ok, r = pcall(handle, from, cmd, arg, context)
  busy = was
  return ok and r
end

local detach

local function poll()
  local from, label, cmd, arg = l4_receive(owner, 0)
  if from then
    if take(from, label, cmd, arg, "run") == "stop" then stop("pause") end
  elseif cmd == l4.E.nopartner or cmd == l4.E.rcv_aborted then
    detach()                -- the debugger's thread is gone
  end
end

-- One count event of the profiler: n instructions ran since the last.
-- The thread's CPU time is read at each; what it grew by is charged to
-- where this event finds the thread, with the instructions since the
-- last charge. An event of the dense stretch that saw no CPU time only
-- adds its instructions to the next charge (it costs a system call, no
-- debug.getinfo): the stretch's events are cheap, so that they do not
-- make the time they measure.
local function sample(n)
  local now = cpu_us(prof.me)
  local us = now - prof.cpu_last
  local dense = hook_count == DENSE
  if us == 0 and dense then
    prof.pend = prof.pend + n
    prof.quiet = prof.quiet + n
    if prof.quiet >= DENSE_FOR then rehook() end
    return
  end
  local i = getinfo(3, "Sln")
  -- (the agent's own code, run from the framework's hook: not a sample;
  -- what it saw goes to the next one)
  if not i or i.source == SELF then return end
  prof.cpu_last = now
  n = n + prof.pend
  prof.pend = 0
  local fk = ("%s:%d %s"):format(i.short_src, i.linedefined, i.name or "?")
  prof.funcs[fk] = (prof.funcs[fk] or 0) + n
  prof.fcpu[fk] = (prof.fcpu[fk] or 0) + us
  if i.currentline > 0 then
    local lk = i.short_src .. ":" .. i.currentline
    prof.lines[lk] = (prof.lines[lk] or 0) + n
    prof.lcpu[lk] = (prof.lcpu[lk] or 0) + us
  end
  prof.samples = prof.samples + 1
  prof.instructions = prof.instructions + n
  prof.cpu = prof.cpu + us
  if prof.stacks then   -- the whole stack, root first: a folded stack's key
    local parts, level = {}, 3
    while level < 43 do
      local f = getinfo(level, "Sn")
      if not f then break end
      table.insert(parts, 1, ("%s:%d %s"):format(f.short_src, f.linedefined, f.name or "?"))
      level = level + 1
    end
    local key = table.concat(parts, ";")
    prof.stacks[key] = (prof.stacks[key] or 0) + n
    prof.scpu[key] = (prof.scpu[key] or 0) + us
  end
  -- dense after CPU time went by, until DENSE_FOR instructions see none
  if us > 0 then
    prof.quiet = 0
    if not dense then rehook(true) end
  elseif dense then
    prof.quiet = prof.quiet + n
    if prof.quiet >= DENSE_FOR then rehook() end
  end
end

function M.hook(event, line)
  if busy then return end
  if event == "return" then
    if trace and trace.pending then trace_in() end
    return
  end
  if event == "count" then
    local n = hook_count            -- the instructions this event stands for
    if prof then sample(n) end
    -- the framework's hook counts 1000 instructions a call (its budget):
    -- called once each chain_count instructions, whatever the interval
    if chained then
      chain_acc = chain_acc + n
      if chain_acc >= chain_count then
        chain_acc = chain_acc - chain_count
        chained(event, line)
      end
    end
    polls = polls + n
    if polls >= POLL then polls = 0; poll() end
    return
  end
  if event == "line" then
    if step then
      local m = step.mode
      if m == "in" then return stop("step") end
      local h = height(2)
      if (m == "over" and h <= step.height) or (m == "out" and h < step.height) then
        return stop("step")
      end
    end
    local list = lines[line]
    if list then
      local src = getinfo(2, "S").source
      for _, bp in ipairs(list) do
        if (src == "@" .. bp.file or src:sub(-#bp.file - 1) == "/" .. bp.file) and cond_true(bp) then
          bp.hits = bp.hits + 1
          return stop("breakpoint", nil, bp.id)
        end
      end
    end
    return
  end
  -- a call
  local i = getinfo(2, "nS")
  local list = i and funcs[i.name or ""]
  if list then
    for _, bp in ipairs(list) do
      if cond_true(bp) then
        bp.hits = bp.hits + 1
        return stop("breakpoint", nil, bp.id)
      end
    end
  end
end

-- Chains the framework's count hook (service.lua's budget): f(), every
-- count instructions, while the agent's own hook is installed; f nil
-- removes it. -> true (the caller installs nothing itself).
function M.chain(f, count)
  chained, chain_count, chain_acc = f, f and count or nil, 0
  rehook()
  return true
end

function M.attached() return owner ~= nil end

---------------------------------------------------------------------------
-- The IPC trace: while on, the l4 table's message functions (send,
-- reply, call, reply_wait, receive) are wrapped, and each message in or
-- out is kept in a ring of `max` entries. A script that took one into a
-- local of its own (service.lua's request loop keeps l4.reply_wait in
-- an upvalue, for speed) is reached too: every function on the thread's
-- stack when the trace starts has such upvalues swapped for the
-- wrapper, and back when it ends. So nothing of it runs while it is off.
-- The agent's own messages use the functions it took at its load, so
-- they are never in it.

local raw = {send = l4.send, reply = l4.reply, call = l4.call, reply_wait = l4.reply_wait,
             receive = l4.receive}
-- trace: {max, ring, n (entries ever), patched, pending}; pending: a
-- receive was waiting when the trace began (it was taken by the raw
-- function, not the wrapper): a return hook notes what it returns.

local function msg_size(first, ...)
  local bytes = 0
  for i = first, select("#", ...) do
    local v = select(i, ...)
    local t = type(v)
    bytes = bytes + (t == "string" and #v + 16 or t == "number" and 8 or 16)
  end
  return bytes
end

local function note(dir, partner, label, bytes)
  local tr = trace
  if not tr then return end
  tr.n = tr.n + 1
  tr.ring[(tr.n - 1) % tr.max + 1] = {t = l4.clock(), dir = dir, partner = tostring(partner),
                                      label = label, size = bytes}
end

-- The arguments of send, reply, call, reply_wait: dest, [opts,] label, ...
local function out_args(dest, a, ...)
  if type(a) == "table" then return note("out", dest, (...), msg_size(2, ...)) end
  return note("out", dest, a, msg_size(1, ...))
end

-- What a receive gave: from, label, values; or nil, message, code.
local function got(from, label, ...)
  if from ~= nil then note("in", from, label, msg_size(1, ...)) end
  return from, label, ...
end

local wrappers = {
  send = function(...) out_args(...); return raw.send(...) end,
  reply = function(...) out_args(...); return raw.reply(...) end,
  call = function(...) out_args(...); return got(raw.call(...)) end,
  reply_wait = function(...) out_args(...); return got(raw.reply_wait(...)) end,
  receive = function(...) return got(raw.receive(...)) end,
}

local receives = {[raw.receive] = true, [raw.reply_wait] = true, [raw.call] = true}

-- The return hook's work while trace.pending (level 3 here: above it
-- M.hook and this function): once the receive returns, its values (a
-- return hook's transferred values, debug.getinfo's "r") are noted.
function trace_in()
  local i = getinfo(3, "fr")
  if not (i and receives[i.func]) then return end
  trace.pending = nil
  local vals = {}
  for k = 1, i.ntransfer do
    local _, v = getlocal(3, i.ftransfer + k - 1)
    vals[k] = v
  end
  got(table.unpack(vals, 1, i.ntransfer))
  rehook()
end

local wrapper_of = {}        -- a raw function -> its wrapper
for k, f in pairs(raw) do wrapper_of[f] = wrappers[k] end

-- Swaps the raw functions in the upvalues of every Lua function on the
-- stack (seen from the caller) for their wrappers -> {{f, index, raw}...}
local function patch_stack()
  local patched, level = {}, 2
  while true do
    local info = getinfo(level, "fS")
    if not info then break end
    if info.what == "Lua" and info.source ~= SELF then
      local i = 1
      while true do
        local name, v = getupvalue(info.func, i)
        if not name then break end
        if wrapper_of[v] then
          setupvalue(info.func, i, wrapper_of[v])
          patched[#patched + 1] = {info.func, i, v}
        end
        i = i + 1
      end
    end
    level = level + 1
  end
  return patched
end

local function trace_off()
  if not trace then return end
  for k, f in pairs(raw) do l4[k] = f end
  for _, p in ipairs(trace.patched) do
    local _, v = getupvalue(p[1], p[2])
    if v == wrapper_of[p[3]] then setupvalue(p[1], p[2], p[3]) end
  end
  trace = nil
  rehook()
end

---------------------------------------------------------------------------
-- Stopping: the thread waits here for the debugger's commands.

function detach()
  trace_off()
  owner = nil
  bps, lines, funcs, next_bp = {}, {}, {}, 1
  step, stopped, prof, refs, nrefs = nil, nil, nil, {}, 0
  if saved_pcall then _G.pcall, _G.xpcall = saved_pcall, saved_xpcall end
  saved_pcall, saved_xpcall, on_error = nil, nil, "none"
  local svc = package.loaded.service
  if type(svc) == "table" then svc.debug_error = nil end
  rehook()
  co, chained, chain_count = nil, nil, nil
end

function stop(reason, message, bp, skip)
  local b = base(skip)
  local i = b and getinfo(b, "Sln")
  stop_h = b and height(b) or 0
  seq = seq + 1
  stopped = {seq = seq, reason = reason, message = message, breakpoint = bp,
             thread = tostring(l4.self())}
  if i then
    local w = where(i)
    stopped.file, stopped.line, stopped.name = w.file, w.line, w.name
  end
  step = nil
  local was = busy
  busy = true
  while stopped and owner do
    local from, label, cmd, arg = l4_receive(owner, {timeout = WAIT_MS})
    if from and label ~= DEBUG then   -- the debugger's thread called it as a client
      l4_reply(from, ERR, "stopped in the debugger (its own thread cannot be a client now)")
    elseif from then
      take(from, label, cmd, arg, "stop")
    elseif cmd ~= l4.E.rcv_timeout then  -- the debugger is gone, or an interrupt
      detach()
    end
  end
  busy = was
  refs, nrefs = {}, 0
  rehook()
end

-- The message handler of errors the debugger stops at: where the error
-- happened, before the stack unwinds. Gives the error back unchanged.
local function error_stop(e)
  if owner and not busy then stop("error", type(e) == "string" and e or short(e), nil, "error") end
  return e
end

local function set_on_error(mode)
  if mode ~= "none" and mode ~= "uncaught" and mode ~= "all" then
    error("on_error: 'none', 'uncaught' or 'all'", 0)
  end
  on_error = mode
  local svc = package.loaded.service
  if type(svc) == "table" then svc.debug_error = mode ~= "none" and error_stop or nil end
  if mode == "all" and not saved_pcall then
    saved_pcall, saved_xpcall = _G.pcall, _G.xpcall
    _G.pcall = function(f, ...) return xpcall(f, error_stop, ...) end
    _G.xpcall = function(f, h, ...)
      return xpcall(f, function(e) error_stop(e); return h(e) end, ...)
    end
  elseif mode ~= "all" and saved_pcall then
    _G.pcall, _G.xpcall = saved_pcall, saved_xpcall
    saved_pcall, saved_xpcall = nil, nil
  end
end

---------------------------------------------------------------------------
-- The commands. Each gets the decoded argument table and returns the
-- result table; an error is the debugger's error message.

local function add_bp(bp)
  bp.id, bp.hits = next_bp, 0
  next_bp = next_bp + 1
  if bp.cond then
    local f, err = load("return " .. bp.cond, "=condition")
    if not f then error("condition: " .. err, 0) end
  end
  bps[bp.id] = bp
  local t, k = bp.line and lines or funcs, bp.line or bp.func
  t[k] = t[k] or {}
  table.insert(t[k], bp)
  rehook()
  return {id = bp.id}
end

local function need_stop()
  if not stopped then error("the thread is running (pause it first)", 0) end
end

local function frame_level(k)
  if math.type(k) ~= "integer" or k < 1 then error("a frame is a number from 1", 0) end
  return k
end

local cmds = {}

function cmds.poll()
  if stopped then
    local e = {}
    for k, v in pairs(stopped) do e[k] = v end
    e.state = "stopped"
    return e
  end
  return {state = "running", seq = seq}
end

function cmds.break_line(a)
  if type(a.file) ~= "string" or math.type(a.line) ~= "integer" then
    error("break_line: a file name and a line number", 0)
  end
  return add_bp{file = a.file:gsub("^@", ""), line = a.line, cond = a.cond}
end

function cmds.break_func(a)
  if type(a.name) ~= "string" then error("break_func: a function name", 0) end
  return add_bp{func = a.name, cond = a.cond}
end

function cmds.break_clear(a)
  local bp = bps[a.id]
  if not bp then error("no breakpoint " .. tostring(a.id), 0) end
  bps[a.id] = nil
  local t, k = bp.line and lines or funcs, bp.line or bp.func
  for i, x in ipairs(t[k]) do if x == bp then table.remove(t[k], i) break end end
  if #t[k] == 0 then t[k] = nil end
  rehook()
  return {}
end

function cmds.breaks()
  local out = {}
  for _, bp in pairs(bps) do
    out[#out + 1] = {id = bp.id, file = bp.file, line = bp.line, func = bp.func,
                     cond = bp.cond, hits = bp.hits}
  end
  table.sort(out, function(x, y) return x.id < y.id end)
  return out
end

function cmds.on_error(a)
  set_on_error(a.mode)
  return {}
end

-- a.seen (optional): the last stop the debugger has shown; a later one
-- (a client reached a breakpoint meanwhile) is not run past unseen: the
-- thread stays stopped and the answer says so.
function cmds.continue(a)
  need_stop()
  if a and a.seen and a.seen ~= stopped.seq then return {unseen = stopped.seq} end
  stopped = nil
  return {}
end

function cmds.step(a)
  need_stop()
  local m = a.mode or "in"
  if m ~= "in" and m ~= "over" and m ~= "out" then error("step: 'in', 'over' or 'out'", 0) end
  -- the height of frame 1 (the hooked function, or the one waiting)
  step = {mode = m, height = stop_h}
  stopped = nil
  return {}
end

function cmds.stack()
  need_stop()
  local out = {}
  local l1 = level_of(1)
  for k = 1, stop_h do
    local i = getinfo(l1 + k - 1, "Sln")
    if not i then break end
    local w = where(i)
    w.level = k
    out[k] = w
  end
  return out
end

function cmds.vars(a)
  need_stop()
  local k = frame_level(a.level)
  local kind = a.kind or "locals"
  if k > stop_h then error("no frame " .. k, 0) end
  local level = level_of(k)
  local info = getinfo(level, "fu")
  if not info then error("no frame " .. k, 0) end
  local out = {}
  if kind == "locals" then
    local i = 1
    while true do
      local name, v = getlocal(level, i)
      if not name then break end
      if name:sub(1, 1) ~= "(" then out[#out + 1] = var(name, v) end
      i = i + 1
    end
  elseif kind == "varargs" then
    local i = -1
    while true do
      local name, v = getlocal(level, i)
      if not name then break end
      out[#out + 1] = var("..." .. -i, v)
      i = i - 1
    end
  elseif kind == "upvalues" then
    for i = 1, info.nups do
      local name, v = getupvalue(info.func, i)
      out[#out + 1] = var(name, v)
    end
  elseif kind == "globals" then
    local names = {}
    for name in pairs(_G) do if type(name) == "string" then names[#names + 1] = name end end
    table.sort(names)
    for _, name in ipairs(names) do out[#out + 1] = var(name, _G[name]) end
  else
    error("vars: 'locals', 'upvalues', 'varargs' or 'globals'", 0)
  end
  return out
end

function cmds.expand(a)
  need_stop()
  local t = refs[a.ref]
  if not t then error("no table " .. tostring(a.ref) .. " (they last while stopped)", 0) end
  local keys = {}
  for key in next, t do keys[#keys + 1] = key; if #keys >= 500 then break end end
  table.sort(keys, function(x, y)
    local tx, ty = type(x), type(y)
    if tx ~= ty then return tx < ty end
    if tx == "number" or tx == "string" then return x < y end
    return tostring(x) < tostring(y)
  end)
  local out = {}
  for _, key in ipairs(keys) do
    out[#out + 1] = var(type(key) == "string" and key or "[" .. short(key) .. "]", t[key])
  end
  return out
end

function cmds.eval(a)
  need_stop()
  local k = frame_level(a.level or 1)
  if k > stop_h then error("no frame " .. k, 0) end
  if type(a.expr) ~= "string" then error("eval: an expression or a statement", 0) end
  local r = table.pack(eval_in(k, a.expr))
  if not r[1] then return {ok = false, value = tostring(r[2])} end
  local vals = {}
  for i = 2, r.n do vals[#vals + 1] = short(r[i]) end
  return {ok = true, value = table.concat(vals, ", "), ref = r.n == 2 and ref(r[2]) or nil}
end

function cmds.profile(a)
  local count = math.tointeger(a.count) or 1000
  if count < 100 then error("profile: a count of at least 100 instructions", 0) end
  prof = {count = count, funcs = {}, lines = {}, samples = 0, stacks = a.stacks and {} or nil,
          fcpu = {}, lcpu = {}, scpu = {}, cpu = 0, me = l4.self(), instructions = 0, quiet = 0, pend = 0,
          seed = l4.clock() % 2147483648}
  prof.cpu_last = cpu_us(prof.me)
  rehook()
  return {}
end

function cmds.profile_stop()
  if not prof then error("no profile running", 0) end
  local p = prof
  prof = nil
  rehook()
  -- ordered by CPU time, then by Lua instructions (a short run may have
  -- seen no timer tick)
  local function list(t, cpu, keep)
    local out = {}
    for k, n in pairs(t) do out[#out + 1] = {where = k, instructions = n, cpu_us = cpu[k] or 0} end
    table.sort(out, function(x, y)
      if x.cpu_us ~= y.cpu_us then return x.cpu_us > y.cpu_us end
      return x.instructions > y.instructions
    end)
    for i = #out, keep + 1, -1 do out[i] = nil end
    return out
  end
  return {count = p.count, samples = p.samples, instructions = p.instructions,
          cpu_us = p.cpu,
          funcs = list(p.funcs, p.fcpu, 30), lines = list(p.lines, p.lcpu, 30),
          stacks = p.stacks and list(p.stacks, p.scpu, 100)}
end

-- trace {on, max}: switches the IPC trace on (a new ring of max
-- entries, 200; at most 500) or off.
function cmds.trace(a)
  if not a.on then trace_off() return {} end
  local max = math.tointeger(a.max or 200)
  if not max or max < 1 or max > 500 then error("trace: max from 1 to 500 messages", 0) end
  trace_off()
  trace = {max = max, ring = {}, n = 0, patched = patch_stack(), pending = taken_in == "wait"}
  for k, f in pairs(wrappers) do l4[k] = f end
  rehook()
  return {}
end

-- The messages traced since the last read, oldest first, and how many
-- the ring dropped; the ring starts empty again.
function cmds.trace_read()
  if not trace then error("no trace running (trace on first)", 0) end
  local tr = trace
  local first = math.max(1, tr.n - tr.max + 1)
  local out = {}
  for i = first, tr.n do out[#out + 1] = tr.ring[(i - 1) % tr.max + 1] end
  tr.ring, tr.n = {}, 0
  return {entries = out, dropped = first - 1}
end

local function running_co()
  local c, main = coroutine.running()
  return c
end

-- cmd with its encoded argument from a thread of the root task ->
-- replies; returns "stop" if the thread is to stop now (pause).
function handle(from, cmd, arg, context)
  local function reply(label, v) l4_reply(from, label, label == OK and encode(v) or v) end
  if from.task ~= ROOT_TASK then
    return reply(ERR, "only threads of the root task may debug (docs/debugger.md)")
  end
  if cmd == "attach" then
    -- the last attach wins: a debugger whose thread died leaves no lock
    owner = from
    co = co or running_co()
    rehook()
    local svc = package.loaded.service
    local ctx = type(svc) == "table" and svc._ctx
    local script = ctx and type(ctx.cur.chunkname) == "string" and ctx.cur.chunkname:match("^@(.*)")
    return reply(OK, {thread = tostring(l4.self()), name = ctx and ctx.name, script = script,
                      seq = seq})
  end
  if owner ~= from then
    return reply(ERR, owner and "attached by another thread" or "not attached (attach first)")
  end
  if cmd == "detach" then
    detach()
    return reply(OK, {})
  end
  if cmd == "pause" then
    if stopped then return reply(OK, {already = true}) end
    reply(OK, {})
    if context == "stop" then return end
    return "stop"
  end
  local f = cmds[cmd]
  if not f then return reply(ERR, "unknown debug command " .. tostring(cmd)) end
  local a = {}
  if type(arg) == "string" and arg ~= "" then
    local t, err = require("service").decode(arg)
    if type(t) ~= "table" then return reply(ERR, "bad argument: " .. tostring(err)) end
    a = t
  end
  taken_in = context
  local ok, r = pcall(f, a)
  taken_in = nil
  if not ok then return reply(ERR, tostring(r)) end
  return reply(OK, r)
end

-- Called by the bindings with a debugger's message an open receive took.
function M.message(from, label, cmd, arg)
  if busy then
    return l4_reply(from, ERR, "the thread is busy in the debugger")
  end
  busy = true
  local ok, r = pcall(handle, from, cmd, arg, "wait")
  busy = false
  if not ok then print("debug agent: " .. tostring(r)) end
  if ok and r == "stop" then stop("pause", nil, nil, "wait") end
end

-- The framework tells a reload (service.lua): a breakpoint of that
-- chunk whose line is gone or now blank is dropped.
function M.reloaded(chunkname, source)
  if not owner or type(chunkname) ~= "string" or type(source) ~= "string" then return end
  sources[chunkname] = source
  for id, bp in pairs(bps) do
    if bp.line and (chunkname == "@" .. bp.file or chunkname:sub(-#bp.file - 1) == "/" .. bp.file) then
      local text = source_line(chunkname, bp.line)
      if not text or not text:find("%S") or text:find("^%s*%-%-") then
        cmds.break_clear{id = id}
      end
    end
  end
end

return M
