-- pager_zero.lua: a demand-zero pager written in Lua, with a per-client
-- quota (docs/tutorial-pager.md walks through it).
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
-- it (p.refused, p.last_refused) and calls opts.on_refuse if given.
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
local l4 = require "l4"

local PAGE = 4096
local FAULT_LABEL = "pagefault"

local Pager = {}
Pager.__index = Pager

local M = {}

-- opts: quota (pages per client task, default 256), lo, hi (the region
-- served; default the whole free area 0x100000000000-0x7f0000000000),
-- chunk_log2 (12-22, default 16), timeout (ms a receive of run() waits;
-- nil: for ever), on_refuse(pager, from, addr, why), forward(from, addr,
-- ip, access) for faults outside [lo, hi).
function M.new(opts)
  opts = opts or {}
  local self = setmetatable({
    quota = opts.quota or 256,
    lo = opts.lo or 0x100000000000,
    hi = opts.hi or 0x7f0000000000,
    chunk_log2 = opts.chunk_log2 or 16,
    on_refuse = opts.on_refuse,
    forward = opts.forward,
    forwarded = 0,      -- faults handed to forward and answered
    timeout = opts.timeout,
    chunks = {},        -- l4.mem of the pool (kept referenced: see lua-api.md)
    free = {},          -- addresses (in this task) of pages to hand out again
    next_addr = 0,      -- the chunk being cut into pages: next page, its end
    next_end = 0,
    clients = {},       -- task number -> {used = n, pages = {[addr] = pool page}}
    task_of = setmetatable({}, {__mode = "k"}),  -- id -> task number (a cache)
    served = 0,         -- faults answered
    refused = 0,        -- faults not answered
    last_refused = nil, -- {from, addr, why} of the last one
  }, Pager)
  self.recv_opts = self.timeout and {receive = self.timeout} or nil
  return self
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

local function refuse(self, from, addr, why)
  self.refused = self.refused + 1
  self.last_refused = {from, addr, why}
  if self.on_refuse then self.on_refuse(self, from, addr, why) end
  return nil, why
end

-- The answer to a fault of `from` at `addr`: a map item (to send with
-- label 0), or nil and why not ("outside", "quota", or sigma0's message).
function Pager:fault(from, addr, ip, access)
  local page = addr & ~(PAGE - 1)
  if page < self.lo or page >= self.hi then
    if not self.forward then return refuse(self, from, addr, "outside") end
    local item, why = self.forward(from, addr, ip, access)
    if not item then return refuse(self, from, addr, why) end
    self.forwarded = self.forwarded + 1
    return item
  end
  local task = self.task_of[from]
  if not task then
    task = from.task
    self.task_of[from] = task
  end
  local c = self.clients[task]
  if not c then
    c = {used = 0, pages = {}}
    self.clients[task] = c
  end
  local have = c.pages[page]
  if not have then           -- a new page: counts against the quota
    if c.used >= self.quota then return refuse(self, from, addr, "quota") end
    local msg
    have, msg = self:take_page()
    if not have then return refuse(self, from, addr, msg) end
    c.pages[page] = have
    c.used = c.used + 1
  end                         -- else mapped before (and unmapped since): again
  self.served = self.served + 1
  return l4.fpage(have, 12, "rw"):map_item(page)
end

-- Pages a client task holds now.
function Pager:used(task)
  local c = self.clients[task]
  return c and c.used or 0
end

-- Takes every page back from a client task (ended, or to be trimmed):
-- unmaps them from it (and whatever it mapped on), zeroes them, puts
-- them on the free list. -> the number of pages.
function Pager:release(task)
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

-- The server loop. Page faults are answered here; any other message is
-- given to other(from, label, ...): a true result ends run() with it
-- (run returns from, label, ...), anything else goes on receiving (no
-- answer is sent: other may reply itself with l4.reply). Without other,
-- run() ends at the first other message. A receive that fails (timeout)
-- ends run() with nil, message, code.
function Pager:run(other)
  local opts = self.recv_opts
  local receive, reply_wait = l4.receive, l4.reply_wait
  local from, label, a, b, c
  if opts then from, label, a, b, c = receive(nil, opts) else from, label, a, b, c = receive() end
  while true do
    if from == nil then
      if a == 2 then            -- our reply found nobody waiting: go on
        if opts then from, label, a, b, c = receive(nil, opts) else from, label, a, b, c = receive() end
      else
        return nil, label, a    -- e.g. "timeout", 3
      end
    elseif label == FAULT_LABEL then
      local item = self:fault(from, a, b, c)
      if item then
        if opts then
          from, label, a, b, c = reply_wait(from, opts, 0, item)
        else
          from, label, a, b, c = reply_wait(from, 0, item)
        end
      elseif opts then from, label, a, b, c = receive(nil, opts)
      else from, label, a, b, c = receive() end
    else
      if not other or other(from, label, a, b, c) then return from, label, a, b, c end
      if opts then from, label, a, b, c = receive(nil, opts) else from, label, a, b, c = receive() end
    end
  end
end

-- A forward function: the root's pager answers (root task only).
function M.runtime_forward(from, addr, ip, access)
  local fp, base = l4.task.resolve(from, addr, ip, access)
  if not fp then return nil, base end
  return fp:map_item(base)
end

M.PAGE = PAGE
return M
