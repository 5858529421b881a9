-- pager_zero.lua: a demand-zero pager written in Lua, with a per-client
-- quota (docs/tutorial-pager.md walks through it). It is also the
-- memory-policy service "pager" of the boot plan (docs/services.md "The
-- memory-policy service"), changeable live.
--
--   local pager_zero = require "pager_zero"
--   local p = pager_zero.new{quota = 16, lo = base, hi = base + size}
--   p:run()                              -- serve faults for ever
--
-- A thread whose pager is the thread running p:run() gets, on its first
-- touch of a page in [lo, hi), a page of zeroed RAM mapped read-write.
-- A client is a task (its page tables are what a map item fills): each
-- task gets at most `quota` pages. A fault beyond the quota, or outside
-- [lo, hi), is NOT answered: the faulting thread stays blocked in its
-- fault (the kernel has no "no" for a page fault; whoever manages the
-- client can lthread_ex_regs it or delete the task). The pager records
-- it (p.refused, p.last_refused, p.pending) and calls opts.on_refuse if
-- given; p:retry() asks the policy again for the faults still waiting.
-- Which faults are served is M.policy's decision alone (below).
--
-- Pages come from sigma0 through l4.mem.alloc in chunks of 2^chunk_log2
-- bytes (zeroed RAM), and from pages given back by p:release(task),
-- which are zeroed again before their next use.
--
-- With opts.forward, faults outside [lo, hi) are not refused but handed
-- to forward(from, addr, ip, access), whose map item (or nil, why) is the
-- answer: M.runtime_forward asks the root's pager for what it would map
-- (l4.task.resolve), so a Lua task spawned with this pager as its pager
-- (l4.task.spawn{pager = ...}) still gets its image, heap and stacks.
--
-- Live reload: run() answers the service framework's PING, INFO and
-- RELOAD (scripts/service.lua), so `reload pager pager_zero.lua` at the
-- REPL replaces this code in the running pager. The new chunk must
-- return a module like this one (with .Pager, the methods, and .VERSION);
-- it may have migrate(state) -> state, where state is a copy of the
-- pager's fields: the clients (their pages and counts), the pool, the
-- counts, the options. The swap happens between two faults: the old loop
-- replies to the RELOAD, the pager takes the new methods, asks the new
-- policy about the faults still waiting (p:retry) and tail-calls the new
-- run. A chunk that does not compile, fails at its top level, returns no
-- pager module or whose migrate fails is refused; the old one serves on.
local l4 = require "l4"
local map_item = l4.map_item

local PAGE = 4096
-- The service framework's control labels and reply labels.
local svc = require "service_proto"
local PING, INFO, RELOAD = svc.PING, svc.INFO, svc.RELOAD
local OK, UNKNOWN, REJECTED = svc.OK, svc.UNKNOWN, svc.REJECTED
local STATS = 1               -- the service's own request (M.main)
local RELOAD_BUDGET = 10000000  -- instructions a new version's top level and migrate may run

local Pager = {}
Pager.__index = Pager

local M = {Pager = Pager, VERSION = "1", STATS = STATS}

-- The policy: whether the fault of `from` at `page` is served. c is the
-- client task's record ({used = pages held, pages = {[(page - p.origin)
-- >> 12] = pool page}}: numbered from the region's start, so that a
-- client's pages are mostly the array part of the table, which grows
-- far cheaper than a hash; p:backing(task, page) looks one up; nil
-- before its first page), fresh whether the page would be a
-- new one (one mapped before costs nothing). -> true; or nil and why:
-- "outside" (handed to p.forward if there is one), "quota", or anything
-- else. A new version may change all of it; an error in it refuses the
-- fault (counted in p.errors, shown by INFO).
function M.policy(p, page, c, fresh, from, access)
  if page < p.lo or page >= p.hi then return nil, "outside" end
  local quota = p.quota
  if fresh and (c and c.used or 0) >= quota then return nil, "quota" end
  return true
end

-- opts: quota (pages per client task, default 256), lo, hi (the region
-- served; default the whole free area 0x100000000000-0x7f0000000000),
-- chunk_log2 (12-22, default 16), pool (pages to take from sigma0 at once,
-- default none: the pool grows a chunk at a time as faults need it),
-- timeout (ms a receive of run() waits;
-- nil: for ever), on_refuse(pager, from, addr, why), forward(from, addr,
-- ip, access) for faults outside [lo, hi), name (for PING and INFO,
-- default "pager"), trace (true: p.trace lists every answer given,
-- {task, page, version, why or "served"}).
function M.new(opts)
  opts = opts or {}
  local self = setmetatable({
    name = opts.name or "pager",
    version = M.VERSION,
    quota = opts.quota or 256,
    lo = opts.lo or 0x100000000000,
    origin = opts.lo or 0x100000000000,   -- page numbers count from here (fixed)
    hi = opts.hi or 0x7f0000000000,
    chunk_log2 = opts.chunk_log2 or 16,
    on_refuse = opts.on_refuse,
    forward = opts.forward,
    timeout = opts.timeout,
    chunks = {},        -- l4.mem of the pool (kept referenced: see lua-api.md)
    free = {},          -- addresses (in this task) of pages to hand out again
    next_addr = 0,      -- the chunk being cut into pages: next page, its end
    next_end = 0,
    clients = {},       -- task number -> {used = n, pages = {[page number] = pool page}}
    pending = {},       -- id -> {addr, ip, access} of a fault not answered
    npending = 0,       -- how many (the hot path looks at pending only if any)
    served = 0,         -- faults answered with a page of the region
    forwarded = 0,      -- faults handed to forward and answered
    refused = 0,        -- faults not answered
    last_refused = nil, -- {from, addr, why} of the last one
    errors = 0,         -- faults the policy raised an error on
    last_error = "",
    generation = 1, reloads = 0,
    trace = opts.trace and {} or false,
  }, Pager)
  self.recv_opts = self.timeout and {receive = self.timeout} or nil
  if opts.pool then
    local ok, why = self:grow(opts.pool)
    if not ok then return nil, why end
  end
  return self
end

-- Takes at least n more pages from sigma0 now (whole chunks), so that
-- faults later find them ready. -> true; or nil, message.
function Pager:grow(n)
  local got, msg = {}, nil
  while n > 0 do
    local m
    m, msg = l4.mem.alloc(self.chunk_log2)
    if not m then break end
    self.chunks[#self.chunks + 1] = m
    for a = m:base(), m:base() + m:size() - PAGE, PAGE do got[#got + 1] = a end
    n = n - m:size() // PAGE
  end
  local free = self.free      -- what was got is kept, even short of n
  for i = #got, 1, -1 do free[#free + 1] = got[i] end   -- the lowest comes first
  if n > 0 then return nil, msg end
  return true
end

-- The address (in this task) of a zeroed page of the pool; or nil, message.
function Pager:take_page()
  local free = self.free
  local n = #free
  if n > 0 then
    local a = free[n]
    free[n] = nil
    return a
  end
  local a = self.next_addr
  if a >= self.next_end then
    local m, msg = l4.mem.alloc(self.chunk_log2)
    if not m then return nil, msg end
    self.chunks[#self.chunks + 1] = m
    a = m:base()
    self.next_end = a + m:size()
  end
  self.next_addr = a + PAGE
  return a
end

local function note(self, from, page, why)
  local t = self.trace
  if t then t[#t + 1] = {from.task, page, self.version, why or "served"} end
end

-- again: a retry of a fault already refused (not counted twice).
local function refuse(self, from, addr, ip, access, why, again)
  if again then return nil, why end             -- still waiting, as it was
  if not self.pending[from] then self.npending = self.npending + 1 end
  self.pending[from] = {addr, ip, access}
  self.refused = self.refused + 1
  self.last_refused = {from, addr, why}
  note(self, from, addr & ~(PAGE - 1), why)
  if self.on_refuse then self.on_refuse(self, from, addr, why) end
  return nil, why
end

local PAGE_MASK = ~(PAGE - 1)

-- The fault of `from` is answered: no longer waiting.
local function unpend(self, from)
  local pending = self.pending
  if pending[from] then
    pending[from] = nil
    self.npending = self.npending - 1
  end
end

-- A fault the policy does not serve: forwarded, or refused.
local function not_served(self, from, addr, ip, access, why, again)
  if why == "outside" and self.forward then
    local item, w = self.forward(from, addr, ip, access)
    if not item then return refuse(self, from, addr, ip, access, w, again) end
    self.forwarded = self.forwarded + 1
    unpend(self, from)
    return item
  end
  return refuse(self, from, addr, ip, access, why or "refused", again)
end

-- The fault handler of pager self, a closure over it, as l4.pager_loop
-- calls it: handler(from, addr, ip, access, task, again) -> the address
-- of the page to map at the fault's page ("rw"), or an item
-- (forwarded), or nil and why not. Unprotected: an error in the policy
-- propagates (Pager:fault and run() catch it). The common case, a fresh
-- page from the free list, is written out here: this is the pager's hot
-- path (docs/performance.md).
local function make_handler(self)
  return function(from, addr, ip, access, task, again)
    local page = addr & PAGE_MASK
    local c = self.clients[task]
    local key = (page - self.origin) >> 12
    local have = c and c.pages[key]
    local yes, why = M.policy(self, page, c, have == nil, from, access)
    if not yes then return not_served(self, from, addr, ip, access, why, again) end
    if not have then           -- a new page: counts against the quota
      local free = self.free
      local n = #free
      if n > 0 then
        have = free[n]
        free[n] = nil
      else
        have, why = self:take_page()
        if not have then return refuse(self, from, addr, ip, access, why, again) end
      end
      if not c then
        c = {used = 0, pages = {}}
        self.clients[task] = c
      end
      c.pages[key] = have
      c.used = c.used + 1
    end                         -- else mapped before (and unmapped since): again
    self.served = self.served + 1
    if self.npending ~= 0 then unpend(self, from) end
    if self.trace then note(self, from, page) end
    return have
  end
end

-- M.handler(p): the fault handler of pager p, for l4.pager_loop (a loop
-- of one's own: run() below is one).
local handlers = setmetatable({}, {__mode = "k"})   -- pager -> its handler
local function handler(self)
  local h = handlers[self]
  if not h then
    h = make_handler(self)
    handlers[self] = h
  end
  return h
end

-- An error of the policy while answering a fault: counted, the fault refused.
local function policy_error(self, from, addr, ip, access, err, again)
  self.errors = self.errors + 1
  self.last_error = tostring(err)
  return refuse(self, from, addr, ip, access, "policy: " .. self.last_error, again)
end

-- The answer to a fault of `from` at `addr`: a map item (to send with
-- label 0), or nil and why not ("outside", "quota", "policy: ..." or
-- sigma0's message).
function Pager:fault(from, addr, ip, access, again)
  local ok, a, why = pcall(handler(self), from, addr, ip, access, from.task, again)
  if not ok then return policy_error(self, from, addr, ip, access, a, again) end
  if math.type(a) == "integer" then return map_item(a, 12, "rw", addr & PAGE_MASK) end
  return a, why
end

-- Asks the policy again about the faults still waiting (after a reload,
-- or after pages were given back) and answers those it now allows.
-- -> how many were answered.
function Pager:retry()
  local waiting = {}
  for from, f in pairs(self.pending) do waiting[#waiting + 1] = {from, f} end
  local n = 0
  for _, w in ipairs(waiting) do
    local from, f = w[1], w[2]
    local item = self:fault(from, f[1], f[2], f[3], true)
    if item and l4.reply(from, 0, item) then n = n + 1 end
  end
  return n
end

-- The pool page backing `page` of a client task, or nil.
function Pager:backing(task, page)
  local c = self.clients[task]
  return c and c.pages[(page - self.origin) >> 12]
end

-- Pages a client task holds now.
function Pager:used(task)
  local c = self.clients[task]
  return c and c.used or 0
end

-- Takes every page back from a client task (ended, or to be trimmed):
-- unmaps them from it (and whatever it mapped on), zeroes them, puts
-- them on the free list; forgets its faults still waiting. -> the
-- number of pages.
function Pager:release(task)
  for from in pairs(self.pending) do
    if from.task == task then unpend(self, from) end
  end
  local c = self.clients[task]
  if not c then return 0 end
  local zero = ("\0"):rep(PAGE)
  local n = 0
  for _, a in pairs(c.pages) do
    l4.unmap(l4.fpage(a, 12), "flush")
    for _, m in ipairs(self.chunks) do          -- the chunk it is in
      local off = a - m:base()
      if off >= 0 and off < m:size() then m:write(off, zero) break end
    end
    self.free[#self.free + 1] = a
    n = n + 1
  end
  self.clients[task] = nil
  return n
end

-- Compiles a new version and moves this pager into it (the caller then
-- replies and runs the new loop). -> true; or nil, why, and nothing has
-- changed.
function Pager:reload(src, chunkname)
  if type(src) ~= "string" then return nil, "reload: no source (a string) in the message" end
  local chunk, err = load(src, type(chunkname) == "string" and chunkname or "=pager_zero", "t")
  if not chunk then return nil, err end
  debug.sethook(function() debug.sethook(); error("the new version ran out of its instruction budget", 0) end,
                "", RELOAD_BUDGET)
  local ok, new = pcall(chunk)
  local state = {}
  for k, v in pairs(self) do state[k] = v end   -- what migrate sees: a copy
  if ok and (type(new) ~= "table" or type(new.Pager) ~= "table" or type(new.Pager.run) ~= "function") then
    ok, new = false, "the new version returns no pager module (with Pager and Pager.run)"
  end
  if ok and new.migrate then
    local okm, res = pcall(new.migrate, state)
    if not okm then ok, new = false, "migrate: " .. tostring(res)
    elseif type(res) ~= "table" then ok, new = false, "migrate returned a " .. type(res) .. ", not a state table"
    else state = res end
  end
  debug.sethook()
  if not ok then return nil, tostring(new) end
  for k in pairs(self) do if state[k] == nil then self[k] = nil end end
  for k, v in pairs(state) do self[k] = v end
  setmetatable(self, new.Pager)
  local n = 0                   -- migrate may have changed the waiting faults
  for _ in pairs(self.pending or {}) do n = n + 1 end
  self.npending = n
  self.generation = self.generation + 1
  self.reloads = self.reloads + 1
  self.version = tostring(new.VERSION or self.generation)
  return true
end

-- The server loop. Page faults are answered here (by the handler above,
-- inside l4.pager_loop: the receive, the call of the handler and the
-- reply with the map item are C), and the framework's PING, INFO and
-- RELOAD; any other message is given to other(from, label, ...): a true
-- result ends run() with it (run returns from, label, ...), anything
-- else goes on receiving (no answer is sent: other may reply itself with
-- l4.reply). Without other, run() ends at the first other message. A
-- receive that fails (timeout) ends run() with nil, message, code. An
-- error in the policy refuses that fault (counted in p.errors).
function Pager:run(other)
  local opts, serve = self.recv_opts, handler(self)
  local pager_loop, reply = l4.pager_loop, l4.reply
  while true do
    local from, label, a, b, c, d = pager_loop(serve, opts)
    if from == false then       -- the handler failed: label is the error, a.. the fault
      policy_error(self, a, b, c, d, label)
    elseif from == nil then
      return nil, label, a      -- e.g. "timeout", 3
    elseif label == PING then
      reply(from, svc.ping(self.name, self.version))
    elseif label == INFO then
      reply(from, svc.info{requests = self.served + self.forwarded + self.refused,
                           errors = self.errors, generation = self.generation,
                           reloads = self.reloads, name = self.name, version = self.version,
                           last_error = self.last_error})
    elseif label == RELOAD then
      local done, why
      if from.task ~= l4.kip.root.task and from.task ~= l4.self().task then
        why = "reload: only threads of the root task may reload the pager"
      else
        done, why = self:reload(a, b)
      end
      if done then
        reply(from, OK, self.generation, self.version)
        self:retry()                  -- the new policy's: may answer waiting faults
        return self:run(other)        -- a tail call: the old loop is gone
      end
      self.last_error = why
      print(("%s: reload rejected, version %s keeps serving: %s"):format(self.name, self.version, why))
      reply(from, REJECTED, why)
    elseif not other or other(from, label, a, b, c, d) then
      return from, label, a, b, c, d
    end
  end
end

-- A forward function: the root's pager answers (root task only).
function M.runtime_forward(from, addr, ip, access)
  local fp, base = l4.task.resolve(from, addr, ip, access)
  if not fp then return nil, base end
  return fp:map_item(base)
end

-- The body of the "pager" service thread (scripts/init.lua): a pager of
-- the root task (its pool is the root's memory) for the tasks spawned
-- with it as their pager, their runtime forwarded to the root's pager.
-- quota: pages per client task. It answers STATS (label 1) -> 0, served,
-- refused, forwarded, clients, pages held, pages free; other labels get
-- UNKNOWN. Reloaded live with `reload pager pager_zero.lua`.
function M.main(name, quota)
  require("rootgc").settle()      -- a long-lived thread of the root
  local p = M.new{name = name or "pager", quota = quota, forward = M.runtime_forward}
  local function other(from, label)
    if label == STATS then
      local clients, held = 0, 0
      for _, cl in pairs(p.clients) do clients, held = clients + 1, held + cl.used end
      l4.reply(from, OK, p.served, p.refused, p.forwarded, clients, held, #p.free)
    elseif not svc.late_reply(label) then     -- a late reply: dropped, not answered
      l4.reply(from, UNKNOWN, ("no handler for label %s"):format(tostring(label)))
    end
  end
  while true do
    local _, why = p:run(other)
    print(("%s: receive failed (%s); serving on"):format(p.name, tostring(why)))
  end
end

M.PAGE = PAGE
M.handler = handler
return M
